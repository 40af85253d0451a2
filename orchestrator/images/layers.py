"""Layer blobs in, unpacked layer directories out: each diff unpacked once and shared.

A layer's directory is named by its diff_id (the digest of the uncompressed tar), so two images
(or two compressions of the same layer) that share a diff share the directory. Unpacking goes to
a temporary directory and is renamed into place, so a directory under that name is always
complete; a lock file per layer makes concurrent callers wait for one unpack instead of racing.

hashlib and shutil are imported where a layer is unpacked, hashed or removed: a create whose
layers are all unpacked (nearly every one) only checks that their directories exist, and the two
imports (OpenSSL with hashlib) cost ~3.3 ms of every such command.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from orchestrator.errors import ImageError
from orchestrator.images import manifest as mf
from orchestrator.images.content import CHUNK, ContentStore
from orchestrator.images.model import LayerRef
from orchestrator.paths import Paths


def _hex(diff_id: str) -> str:
    algo, _, hexpart = diff_id.partition(":")
    if algo != "sha256" or len(hexpart) != 64:
        raise ImageError(f"bad layer diff_id {diff_id!r}")
    return hexpart


def layer_dir(paths: Paths, diff_id: str) -> Path:
    return paths.layers / _hex(diff_id)


@contextlib.contextmanager
def _layer_lock(paths: Paths, diff_id: str) -> Iterator[None]:
    paths.layers.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(paths.layers / f".lock-{_hex(diff_id)}", "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        yield


def ensure_unpacked(paths: Paths, content: ContentStore, layer: LayerRef) -> Path:
    dest = layer_dir(paths, layer.diff_id)
    if dest.is_dir():
        return dest
    import shutil

    from orchestrator.storage.unpack import unpack_layer

    with _layer_lock(paths, layer.diff_id):
        if dest.is_dir():
            return dest
        tmp = paths.layers / f".tmp-{_hex(layer.diff_id)}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        try:
            with content.open(layer.digest) as f:
                stats = unpack_layer(f, tmp, compression=mf.layer_compression(layer.media_type))
            if stats.diff_id != layer.diff_id:
                raise ImageError(f"layer {layer.digest} unpacks to {stats.diff_id}, but the image config "
                                 f"says {layer.diff_id}")
            os.rename(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dest


def remove_unpacked(paths: Paths, diff_id: str) -> None:
    import shutil

    dest = layer_dir(paths, diff_id)
    with _layer_lock(paths, diff_id):
        if dest.is_dir():
            # Rename first so a half-deleted directory never carries a valid layer name.
            doomed = paths.layers / f".del-{_hex(diff_id)}-{os.getpid()}"
            os.rename(dest, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
    (paths.layers / f".lock-{_hex(diff_id)}").unlink(missing_ok=True)


def ingest_layer_blob(content: ContentStore, item: Path | tuple[str, Path]) -> LayerRef:
    """Copy a layer tar blob into the content store; learn its diff_id unless the caller gave it."""
    diff_id: str | None
    if isinstance(item, tuple):
        diff_id, path = item
    else:
        diff_id, path = None, item
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise ImageError(f"cannot read layer {path}: {exc.strerror or exc}") from None
    compression = mf.sniff_compression(head)
    digest, size = content.ingest_file(path)
    if diff_id is None:
        diff_id = digest if compression == "none" else diff_id_of(content, digest, compression)
    return LayerRef(diff_id=diff_id, digest=digest, size=size, media_type=mf.media_type_for(compression))


def diff_id_of(content: ContentStore, digest: str, compression: str) -> str:
    import hashlib

    from orchestrator.storage.decompress import open_decompressed

    h = hashlib.sha256()
    with content.open(digest) as f:
        raw, close = open_decompressed(f, compression)
        try:
            while chunk := raw.read(CHUNK):
                h.update(chunk)
        finally:
            close()
    return "sha256:" + h.hexdigest()
