"""OCI image layouts: ``oci-layout`` + ``index.json`` + ``blobs/sha256/…``, read and written.

Names travel in the index's descriptor annotations. We write the full reference both as
``org.opencontainers.image.ref.name`` and ``io.containerd.image.name`` (as docker does); on
reading, a bare tag in ``ref.name`` (docker writes ``latest`` there) names nothing by itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from orchestrator.errors import ImageError
from orchestrator.images import manifest as mf
from orchestrator.images import reference
from orchestrator.images.content import sha256_bytes

if TYPE_CHECKING:
    from orchestrator.images.archive import Source, Writer
    from orchestrator.images.store import Image, ImageStore

LAYOUT = {"imageLayoutVersion": "1.0.0"}


def blob_name(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"blobs/{algo}/{hexpart}"


def _names(desc: dict[str, Any]) -> list[str]:
    ann = desc.get("annotations") or {}
    for key in (mf.ANNOTATION_CONTAINERD_NAME, mf.ANNOTATION_REF_NAME):
        name = ann.get(key)
        if isinstance(name, str) and ("/" in name or ":" in name):
            try:
                return [reference.normalize(name)]
            except ImageError:
                continue
    return []


def _json_blob(src: Source, desc: dict[str, Any]) -> tuple[dict[str, Any], str]:
    digest, _ = src.to_store(blob_name(desc["digest"]), expected=desc["digest"])
    doc = json.loads(src.content.read_bytes(digest))
    if not isinstance(doc, dict):
        raise ImageError(f"OCI layout: {desc['digest']} is not a JSON object")
    return doc, digest


def load(store: ImageStore, src: Source) -> list[Image]:
    try:
        index = json.loads(src.read_bytes("index.json"))
        layout = json.loads(src.read_bytes("oci-layout"))
    except json.JSONDecodeError as exc:
        raise ImageError(f"OCI layout: bad JSON ({exc})") from None
    if layout.get("imageLayoutVersion") != "1.0.0":
        raise ImageError(f"OCI layout: unsupported imageLayoutVersion {layout.get('imageLayoutVersion')!r}")
    images: list[Image] = []
    for desc in index.get("manifests") or []:
        names = _names(desc)
        chosen = desc
        while chosen.get("mediaType") in mf.INDEX_TYPES:
            nested, _ = _json_blob(src, chosen)
            chosen = mf.choose_manifest(nested, mf.host_platform())
        if chosen.get("mediaType", mf.OCI_MANIFEST) not in mf.MANIFEST_TYPES:
            continue  # attestations, signatures and other artifacts are not images
        doc, digest = _json_blob(src, chosen)
        src.to_store(blob_name(doc["config"]["digest"]), expected=doc["config"]["digest"])
        for layer in mf.manifest_layers(doc):
            src.to_store(blob_name(layer["digest"]), expected=layer["digest"])
        images.append(store.register_manifest(digest, names))
    if not images:
        raise ImageError("OCI layout: index.json lists no image manifests")
    return images


def oci_manifest_bytes(store: ImageStore, image: Image) -> bytes:
    """The image's manifest as OCI: as stored if it already is, else converted (same blobs)."""
    raw = store.content.read_bytes(image.manifest_digest)
    doc = json.loads(raw)
    if doc.get("mediaType", mf.OCI_MANIFEST) == mf.OCI_MANIFEST:
        return raw
    cfg = doc["config"]
    converted = mf.build_manifest(
        mf.descriptor(mf.OCI_CONFIG, cfg["digest"], cfg["size"]),
        [mf.descriptor(mf.to_oci_media_type(lr["mediaType"]), lr["digest"], lr["size"])
         for lr in mf.manifest_layers(doc)],
    )
    return mf.canonical_json(converted)


def write(store: ImageStore, images: list[Image], w: Writer) -> None:
    w.add_bytes("oci-layout", json.dumps(LAYOUT).encode())
    written: set[str] = set()

    def blob(digest: str, data: bytes | None = None) -> None:
        if digest in written:
            return
        written.add(digest)
        if data is not None:
            w.add_bytes(blob_name(digest), data)
        else:
            w.add_file(blob_name(digest), store.content.path(digest))

    entries: list[dict[str, Any]] = []
    for image in images:
        raw = oci_manifest_bytes(store, image)
        digest = sha256_bytes(raw)
        blob(image.config_digest)
        for lr in image.layers:
            blob(lr.digest)
        blob(digest, raw)
        ann: dict[str, str] = {}
        if image.ref and not reference.parse(image.ref).digest:
            ann = {mf.ANNOTATION_REF_NAME: image.ref, mf.ANNOTATION_CONTAINERD_NAME: image.ref}
        plat: dict[str, str] = {"architecture": image.config.get("architecture", "amd64"),
                                "os": image.config.get("os", "linux")}
        if image.config.get("variant"):
            plat["variant"] = image.config["variant"]
        entries.append(mf.descriptor(mf.OCI_MANIFEST, digest, len(raw), annotations=ann, platform=plat))
    w.add_bytes("index.json", mf.canonical_json(mf.build_index(entries)))
