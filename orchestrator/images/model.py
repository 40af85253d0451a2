"""The image as the rest of pystack sees it: a manifest, its config, and its layers in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LayerRef:
    """One layer by both digests: the blob's (what registries serve) and the diff's (its directory's name)."""
    diff_id: str  # sha256 of the uncompressed tar: names the unpacked directory
    digest: str  # sha256 of the blob as stored and as a registry serves it
    size: int  # blob size in bytes
    media_type: str


@dataclass
class Image:
    """A stored image as the engine uses it: its digests, its config document and its layers, base first."""
    ref: str | None
    manifest_digest: str
    config_digest: str
    config: dict[str, Any]  # the whole OCI image config document (architecture, os, config, rootfs, history)
    layers: list[LayerRef] = field(default_factory=list)
    created: str | None = None
    size: int = 0
    media_type: str = ""
    refs: list[str] = field(default_factory=list)  # every name that points at this manifest

    @property
    def id(self) -> str:
        """The config digest, as Docker uses for IMAGE ID."""
        return self.config_digest

    @property
    def short_id(self) -> str:
        return self.config_digest.removeprefix("sha256:")[:12]

    @property
    def container_config(self) -> dict[str, Any]:
        """``config.config``: Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, ..."""
        inner = self.config.get("config")
        return inner if isinstance(inner, dict) else {}

    @property
    def platform(self) -> str:
        s = f"{self.config.get('os', 'linux')}/{self.config.get('architecture', 'unknown')}"
        variant = self.config.get("variant")
        return s + (f"/{variant}" if variant else "")
