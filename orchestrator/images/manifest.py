"""Manifests, indexes and image configs as data: media types, construction, platform choice.

Pure functions only; the store and the registry client decide where bytes come from. What we
write is always OCI (and validates against the image-spec schemas); what we read may also be
Docker's v2 schema 2 manifests and manifest lists, which have the same shape.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from orchestrator.errors import ImageError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = OCI_LAYER + "+gzip"
OCI_LAYER_ZSTD = OCI_LAYER + "+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

Compression = Literal["gzip", "zstd", "none", "auto"]

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"

_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
           "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


@dataclass(frozen=True)
class Platform:
    """An os/architecture[/variant] triple: how an index entry is matched to the machine a pull runs on."""
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        s = f"{self.os}/{self.architecture}"
        return s + (f"/{self.variant}" if self.variant else "")


def host_platform() -> Platform:
    """This machine as an image index names platforms. The kernel's machine name, as
    ``platform.machine()`` reads it on Linux, without that module's import (a few ms of every
    command that opens the image store)."""
    machine = os.uname().machine.lower()
    arch = _GOARCH.get(machine, machine)
    variant = "v8" if arch == "arm64" else ("v7" if arch == "arm" else None)
    return Platform("linux", arch, variant)


def parse_platform(text: str | None) -> Platform:
    if not text:
        return host_platform()
    parts = text.strip().split("/")
    if len(parts) == 1:
        return Platform("linux", _GOARCH.get(parts[0], parts[0]))
    if len(parts) in (2, 3) and all(parts):
        return Platform(parts[0], _GOARCH.get(parts[1], parts[1]), parts[2] if len(parts) == 3 else None)
    raise ImageError(f'invalid platform "{text}": expected os/arch[/variant]')


def choose_manifest(index: dict[str, Any], want: Platform) -> dict[str, Any]:
    """The index entry for ``want``; a missing variant matches any (arm64 images rarely say v8)."""
    entries: list[dict[str, Any]] = [m for m in index.get("manifests") or []
                                     if m.get("mediaType", OCI_MANIFEST) in MANIFEST_TYPES]
    best: dict[str, Any] | None = None
    for m in entries:
        p = m.get("platform") or {}
        if p.get("os") != want.os or p.get("architecture") != want.architecture:
            continue
        variant = p.get("variant")
        if variant == want.variant:
            return m
        if best is None and (variant is None or want.variant is None):
            best = m
    if best is not None:
        return best
    have = sorted({f"{(m.get('platform') or {}).get('os')}/{(m.get('platform') or {}).get('architecture')}"
                   for m in entries})
    raise ImageError(f"no image for platform {want} in the index (it has: {', '.join(have) or 'none'})")


def canonical_json(doc: dict[str, Any]) -> bytes:
    """Stable bytes for a document we author, so the same content always has the same digest."""
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def descriptor(media_type: str, digest: str, size: int, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": size}
    d.update({k: v for k, v in extra.items() if v})
    return d


def build_manifest(config: dict[str, Any], layers: list[dict[str, Any]],
                   annotations: dict[str, str] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers}
    if annotations:
        m["annotations"] = annotations
    return m


def build_index(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}


def complete_config(config: dict[str, Any], diff_ids: list[str], *,
                    created: str | None = None) -> dict[str, Any]:
    """Fill what an OCI image config must have (architecture, os, rootfs) around what the caller set."""
    out = dict(config)
    host = host_platform()
    out.setdefault("architecture", host.architecture)
    out.setdefault("os", host.os)
    if host.variant and out["architecture"] == host.architecture:
        out.setdefault("variant", host.variant)
    if created or "created" not in out:
        out["created"] = created or now_rfc3339()
    out["rootfs"] = {"type": "layers", "diff_ids": list(diff_ids)}
    inner = out.get("config")
    if inner is not None and not isinstance(inner, dict):
        raise ImageError("image config: 'config' must be an object")
    return out


def manifest_layers(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise ImageError("manifest has no layers list")
    return layers


def layer_compression(media_type: str) -> Compression:
    if media_type.endswith("+zstd") or media_type.endswith(".zstd"):
        return "zstd"
    if media_type.endswith("gzip"):
        return "gzip"
    if media_type in (OCI_LAYER, "application/vnd.oci.image.layer.nondistributable.v1.tar"):
        return "none"
    return "auto"


def to_oci_media_type(media_type: str) -> str:
    return {DOCKER_MANIFEST: OCI_MANIFEST, DOCKER_LIST: OCI_INDEX, DOCKER_CONFIG: OCI_CONFIG,
            DOCKER_LAYER: OCI_LAYER_GZIP, DOCKER_FOREIGN_LAYER: OCI_LAYER_GZIP}.get(media_type, media_type)


def sniff_compression(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return "none"


def media_type_for(compression: str) -> str:
    return {"gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}.get(compression, OCI_LAYER)
