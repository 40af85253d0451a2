"""Turn an overlayfs upper directory into an OCI layer tar (the reverse of unpacking).

overlayfs records a deletion as a character device 0/0 and a directory that hides everything
below as ``trusted.overlay.opaque=y``; in OCI these are ``.wh.NAME`` and ``.wh..wh..opq``.
Entries come in sorted order with host user/group names blanked, so the same upper dir gives
the same tar bytes; gzip headers carry no timestamp or file name for the same reason.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from orchestrator.storage.unpack import OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX

if TYPE_CHECKING:
    from hashlib import _Hash

_XATTR_PAX = "SCHILY.xattr."


@dataclass(frozen=True)
class LayerBlob:
    """A layer written as a blob: the digests that the manifest and the config each name it by."""
    digest: str  # sha256 of the bytes written to ``out`` (compressed when gzip=True)
    diff_id: str  # sha256 of the uncompressed tar
    size: int  # bytes written to ``out``


class Writable(Protocol):
    """Where a layer goes: a binary file, or anything with its ``write``."""

    def write(self, b: bytes, /) -> int: ...


class _HashingWriter(io.RawIOBase):
    def __init__(self, inner: Writable, h: _Hash) -> None:
        super().__init__()
        self.inner, self.hash, self.size = inner, h, 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        data = bytes(b)
        self.inner.write(data)
        self.hash.update(data)
        self.size += len(data)
        return len(data)


def make_layer(upper: Path, out: Writable, *, gzip: bool = True,
               skip: Callable[[str], bool] | None = None) -> LayerBlob:
    """Write ``upper`` as a layer tar to ``out``; ``skip(relpath)`` leaves entries out."""
    outer = _HashingWriter(out, hashlib.sha256())
    gz = _gzip_writer(outer) if gzip else None
    inner = _HashingWriter(gz if gz is not None else outer, hashlib.sha256())
    with tarfile.open(fileobj=inner, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        _add_tree(tf, upper, skip)
    if gz is not None:
        gz.close()
    return LayerBlob(digest="sha256:" + outer.hash.hexdigest(), diff_id="sha256:" + inner.hash.hexdigest(),
                     size=outer.size)


def _gzip_writer(raw: _HashingWriter) -> gzip.GzipFile:
    return gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _add_tree(tf: tarfile.TarFile, upper: Path, skip: Callable[[str], bool] | None) -> None:
    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = os.path.relpath(dirpath, upper)
        rel_dir = "" if rel_dir == "." else rel_dir
        names = sorted(dirnames + filenames)
        dirnames.clear()
        for name in names:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if skip is not None and skip(rel):
                continue
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if is_whiteout(st):
                _add_marker(tf, f"{rel_dir}/{WHITEOUT_PREFIX}{name}" if rel_dir else WHITEOUT_PREFIX + name, st)
                continue
            _add_entry(tf, full, rel)
            if stat.S_ISDIR(st.st_mode):
                dirnames.append(name)
                if _xattr(full, OPAQUE_XATTR) == b"y":
                    _add_marker(tf, f"{rel}/{OPAQUE_MARKER}", st)
        dirnames.sort()


def _add_marker(tf: tarfile.TarFile, name: str, st: os.stat_result) -> None:
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.mtime = tarfile.REGTYPE, 0, 0o644, int(st.st_mtime)
    tf.addfile(ti)


def _add_entry(tf: tarfile.TarFile, full: str, rel: str) -> None:
    ti = tf.gettarinfo(full, arcname=rel)
    ti.uname = ti.gname = ""
    ti.mtime = int(ti.mtime)
    xattrs = _xattrs(full)
    if xattrs:
        ti.pax_headers = {_XATTR_PAX + k: v for k, v in xattrs.items()}
    if ti.isreg():
        # O_NOFOLLOW: the upper dir was written by a container; never read through a link it left
        with os.fdopen(os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as f:
            tf.addfile(ti, f)
    else:
        tf.addfile(ti)


def _xattr(path: str, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


def _xattrs(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for name in sorted(os.listxattr(path, follow_symlinks=False)):
            if name.startswith("trusted.overlay."):
                continue
            value = _xattr(path, name)
            if value is not None:
                out[name] = value.decode("utf-8", "surrogateescape")
    return out
