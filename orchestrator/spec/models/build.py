"""Image builds: ``build: ./dir`` becomes ``{context: /abs/dir, dockerfile: Dockerfile}``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orchestrator.spec.models.base import Model
from orchestrator.spec.models.paths import is_remote, resolve_path
from orchestrator.spec.models.units import Invalid, drop_x, kind, list_or_dict, parse_bool, parse_size, string_list


class BuildConfig(Model):
    context: str
    dockerfile: str = "Dockerfile"
    dockerfile_inline: str | None = None
    args: dict[str, str | None] = Field(default_factory=dict)
    ssh: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    cache_from: list[str] = Field(default_factory=list)
    cache_to: list[str] = Field(default_factory=list)
    no_cache: bool = False
    no_cache_filter: list[str] = Field(default_factory=list)
    additional_contexts: dict[str, str] = Field(default_factory=dict)
    network: str | None = None
    pull: bool = False
    target: str | None = None
    shm_size: int | None = None
    extra_hosts: list[tuple[str, str]] = Field(default_factory=list)
    isolation: str | None = None
    privileged: bool = False
    secrets: list[dict[str, Any]] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    ulimits: dict[str, tuple[int, int]] = Field(default_factory=dict)
    platforms: list[str] = Field(default_factory=list)
    entitlements: list[str] = Field(default_factory=list)
    provenance: str | bool | None = None
    sbom: str | bool | None = None


def normalize_build(value: Any, base: str, home: str | None) -> dict[str, Any]:
    from orchestrator.spec.models.extra_hosts import parse_extra_hosts
    from orchestrator.spec.models.resources import parse_ulimits

    if isinstance(value, str):
        value = {"context": value}
    if not isinstance(value, dict):
        raise Invalid(f"must be a string or a mapping, not {kind(value)}")
    value = drop_x(value)
    out = dict(value)
    context = value.get("context", ".")
    if not isinstance(context, str):
        raise Invalid("context must be a string", ("context",))
    out["context"] = context if is_remote(context) else resolve_path(context, base, home)
    if "args" in value:
        out["args"] = list_or_dict(value["args"], "build arg")
    if "labels" in value:
        out["labels"] = {k: v or "" for k, v in list_or_dict(value["labels"], "label").items()}
    for key in ("cache_from", "cache_to", "tags", "platforms", "entitlements"):
        if key in value:
            out[key] = string_list(value[key], key)
    for key in ("no_cache_filter",):
        if key in value:
            out[key] = string_list(value[key], key, allow_single=True)
    if "ssh" in value:
        ssh = value["ssh"]
        if isinstance(ssh, dict):
            entries = [f"{k}={v}" if v else str(k) for k, v in ssh.items()]
        else:
            entries = string_list(ssh, "ssh", allow_single=True)
        out["ssh"] = [_ssh_entry(e, base, home) for e in entries]
    if "additional_contexts" in value:
        contexts = {k: v or "" for k, v in list_or_dict(value["additional_contexts"], "context").items()}
        out["additional_contexts"] = {
            k: (v if is_remote(v) or ":" in v.split("/")[0] else resolve_path(v, base, home))
            for k, v in contexts.items()
        }
    for flag in ("no_cache", "pull", "privileged"):
        if flag in value:
            out[flag] = parse_bool(value[flag])
    if value.get("shm_size") is not None:
        out["shm_size"] = parse_size(value["shm_size"])
    if "extra_hosts" in value:
        out["extra_hosts"] = parse_extra_hosts(value["extra_hosts"])
        # a RUN step cut off from every network has no gateway to name (see RuntimeBuildRunner)
        if value.get("network") == "none" and any(ip == "host-gateway" for _, ip in out["extra_hosts"]):
            raise Invalid("host-gateway needs a network: this build's network is none", ("extra_hosts",))
    if "ulimits" in value:
        out["ulimits"] = parse_ulimits(value["ulimits"])
    if "secrets" in value:
        secrets = value["secrets"]
        if not isinstance(secrets, list):
            raise Invalid("must be a list", ("secrets",))
        out["secrets"] = [{"source": s} if isinstance(s, str) else s for s in secrets]
    return out


def _ssh_entry(entry: str, base: str, home: str | None) -> str:
    """``ID=PATH[,PATH]`` with its paths (agent sockets or key files) resolved as other paths are."""
    ident, eq, rest = entry.partition("=")
    paths = [p.strip() for p in rest.split(",") if p.strip()]
    if not ident.strip() or (eq and not paths):
        raise Invalid(f"invalid ssh {entry!r}: expected default, ID or ID=PATH[,PATH]", ("ssh",))
    if not eq:
        return entry
    return ident + "=" + ",".join(resolve_path(p, base, home) for p in paths)
