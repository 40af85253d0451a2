"""Top-level volumes, configs and secrets: names resolved per project, file paths made absolute."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orchestrator.spec.models.base import Model
from orchestrator.spec.models.paths import resolve_path
from orchestrator.spec.models.units import Invalid, kind, list_or_dict, parse_bool


class VolumeConfig(Model):
    name: str
    driver: str | None = None
    driver_opts: dict[str, str] = Field(default_factory=dict)
    external: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    extensions: dict[str, Any] = Field(default_factory=dict)


class FileObject(Model):
    """A config or secret: exactly one of ``file``, ``environment``, ``content`` unless external."""

    name: str
    file: str | None = None
    environment: str | None = None
    content: str | None = None
    external: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    driver: str | None = None
    driver_opts: dict[str, str] = Field(default_factory=dict)
    template_driver: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)


def _common(key: str, value: Any, project: str) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise Invalid(f"must be a mapping, not {kind(value)}")
    out = dict(value)
    external = value.get("external", False)
    if isinstance(external, dict):
        out["external"] = True
        if external.get("name"):
            out.setdefault("name", external["name"])
        external = True
    else:
        external = parse_bool(external)
        out["external"] = external
    name = out.get("name")
    out["name"] = str(name) if name else (key if external else f"{project}_{key}")
    for mapping in ("driver_opts", "labels"):
        if mapping in value:
            out[mapping] = {k: v or "" for k, v in list_or_dict(value[mapping], mapping).items()}
    return out


def normalize_volume(key: str, value: Any, project: str) -> dict[str, Any]:
    return _common(key, value, project)


_NOT_FOR = {"configs": ("driver", "driver_opts"), "secrets": ("content",)}


def normalize_file_object(
    key: str, value: Any, project: str, base: str, home: str | None, section: str = "secrets"
) -> dict[str, Any]:
    out = _common(key, value, project)
    for field in _NOT_FOR.get(section, ()):
        if field in out:
            raise Invalid(f"unknown key (not valid for {section})", (field,))
    sources = [k for k in ("file", "environment", "content") if out.get(k) is not None]
    if not out["external"] and len(sources) != 1:
        raise Invalid("needs exactly one of file, environment or content (or external: true)")
    if isinstance(out.get("file"), str):
        out["file"] = resolve_path(out["file"], base, home)
    return out
