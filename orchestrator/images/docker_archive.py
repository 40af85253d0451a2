"""``docker save`` archives: ``manifest.json`` naming a config file and layer tars per image.

Layers in these archives are plain tars (docker >= 25 may point them at OCI blobs, possibly
compressed), so on load each layer's diff_id is checked against the config, and on save a
compressed blob is written out decompressed, as ``docker load`` and skopeo expect.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import TYPE_CHECKING, Any

from orchestrator.errors import ImageError
from orchestrator.images import layers as layerdirs
from orchestrator.images import manifest as mf
from orchestrator.images import reference
from orchestrator.images.model import LayerRef

if TYPE_CHECKING:
    from orchestrator.images.archive import Source, Writer
    from orchestrator.images.store import Image, ImageStore


def load(store: ImageStore, src: Source) -> list[Image]:
    try:
        entries = json.loads(src.read_bytes("manifest.json"))
    except json.JSONDecodeError as exc:
        raise ImageError(f"docker archive: bad manifest.json ({exc})") from None
    if not isinstance(entries, list) or not entries:
        raise ImageError("docker archive: manifest.json lists no images")
    images: list[Image] = []
    for entry in entries:
        images.append(_load_one(store, src, entry))
    return images


def _load_one(store: ImageStore, src: Source, entry: dict[str, Any]) -> Image:
    cfg_bytes = src.read_bytes(entry["Config"])
    config = json.loads(cfg_bytes)
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    layer_names = entry.get("Layers") or []
    if len(diff_ids) != len(layer_names):
        raise ImageError(f"docker archive: {entry['Config']} lists {len(diff_ids)} diff_ids "
                         f"for {len(layer_names)} layers")
    refs: list[LayerRef] = []
    for name, diff_id in zip(layer_names, diff_ids, strict=True):
        digest, size = src.to_store(name)
        with store.content.open(digest) as f:
            compression = mf.sniff_compression(f.read(4))
        actual = digest
        if compression != "none":
            actual = layerdirs.diff_id_of(store.content, digest, compression)
        if actual != diff_id:
            raise ImageError(f"docker archive: layer {name} is {actual}, but the config says {diff_id}")
        refs.append(LayerRef(diff_id, digest, size, mf.media_type_for(compression)))
    tags = [reference.normalize(t) for t in entry.get("RepoTags") or []]
    return store.write_image(cfg_bytes, refs, tags)


def write(store: ImageStore, images: list[Image], w: Writer) -> None:
    by_config: dict[str, tuple[Image, list[str]]] = {}
    for image in images:
        _, tags = by_config.setdefault(image.config_digest, (image, []))
        if image.ref and not reference.parse(image.ref).digest:
            tags.append(reference.familiar(image.ref))
    written: set[str] = set()
    manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    for image, tags in by_config.values():
        cfg_name = image.config_digest.removeprefix("sha256:") + ".json"
        w.add_bytes(cfg_name, store.content.read_bytes(image.config_digest))
        names = []
        for lr in image.layers:
            name = lr.diff_id.removeprefix("sha256:") + "/layer.tar"
            names.append(name)
            if name not in written:
                written.add(name)
                _add_layer(store, w, name, lr)
        manifest.append({"Config": cfg_name, "RepoTags": tags or None, "Layers": names})
        for t in tags:
            r = reference.parse(t)
            repositories.setdefault(r.familiar_repository, {})[r.tag or "latest"] = names[-1].split("/")[0]
    w.add_bytes("manifest.json", json.dumps(manifest).encode())
    if repositories:
        w.add_bytes("repositories", json.dumps(repositories).encode())


def _add_layer(store: ImageStore, w: Writer, name: str, lr: LayerRef) -> None:
    if mf.layer_compression(lr.media_type) == "none":
        w.add_file(name, store.content.path(lr.digest))
        return
    from orchestrator.storage.decompress import open_decompressed

    f, tmp = store.content.temp_file()
    try:
        with f, store.content.open(lr.digest) as blob:
            raw, close = open_decompressed(blob, mf.layer_compression(lr.media_type))
            try:
                shutil.copyfileobj(raw, f, 1 << 20)
            finally:
                close()
        w.add_file(name, tmp)
    finally:
        os.unlink(tmp)
