"""Service mounts: ``SRC:DST[:OPTS]`` short syntax and the long form, bind sources made absolute."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from orchestrator.spec.models.base import Model
from orchestrator.spec.models.paths import resolve_path
from orchestrator.spec.models.units import (
    Invalid,
    MultiInvalid,
    drop_x,
    kind,
    list_or_dict,
    parse_bool,
    parse_int,
    parse_size,
)

Propagation = Literal["shared", "slave", "private", "rshared", "rslave", "rprivate"]


class BindOptions(Model):
    propagation: Propagation | None = None
    create_host_path: bool = True
    recursive: Literal["enabled", "disabled", "writable", "readonly"] | None = None
    selinux: Literal["z", "Z"] | None = None


class VolumeOptions(Model):
    nocopy: bool = False
    subpath: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class TmpfsOptions(Model):
    size: int | None = None
    mode: int | None = None


class ServiceVolume(Model):
    type: Literal["bind", "volume", "tmpfs"]
    source: str | None = None
    target: str
    read_only: bool = False
    consistency: str | None = None
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None


_PROPAGATION = {"shared", "slave", "private", "rshared", "rslave", "rprivate"}
_CONSISTENCY = {"cached", "delegated", "consistent"}


def _is_path(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or (len(source) > 1 and source[1] == ":")


def _split(raw: str) -> list[str]:
    parts = raw.split(":")
    # a Windows drive letter ("C:\\data:/data") is refused below; keep the split simple for Linux
    return parts


def parse_volume_short(raw: str, base: str, home: str | None) -> dict[str, Any]:
    parts = _split(raw)
    if len(parts) > 3 or not raw:
        raise Invalid(f'invalid volume "{raw}": expected [SOURCE:]TARGET[:OPTIONS]')
    if len(parts) == 1:
        if not parts[0].startswith("/"):
            raise Invalid(f'invalid volume "{raw}": the container path must be absolute')
        return {"type": "volume", "target": parts[0], "volume": {}}
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 else []
    if not source:
        raise Invalid(f'invalid volume "{raw}": empty source')
    if not target.startswith("/"):
        raise Invalid(f'invalid volume "{raw}": the container path "{target}" must be absolute')
    out: dict[str, Any] = {"target": target, "read_only": False}
    bind: dict[str, Any] = {"create_host_path": True}
    volume: dict[str, Any] = {}
    is_bind = _is_path(source)
    for opt in options:
        if opt == "ro":
            out["read_only"] = True
        elif opt == "rw":
            out["read_only"] = False
        elif opt in ("z", "Z") and is_bind:
            bind["selinux"] = opt
        elif opt in _PROPAGATION and is_bind:
            bind["propagation"] = opt
        elif opt == "nocopy" and not is_bind:
            volume["nocopy"] = True
        elif opt in _CONSISTENCY:
            out["consistency"] = opt
        else:
            what = "bind mount" if is_bind else "named volume"
            raise Invalid(f'invalid volume "{raw}": unknown option "{opt}" for a {what}')
    if is_bind:
        if len(source) > 1 and source[1] == ":":
            raise Invalid(f'invalid volume "{raw}": Windows paths are not supported on Linux')
        out.update(type="bind", source=resolve_path(source, base, home), bind=bind)
    else:
        out.update(type="volume", source=source, volume=volume)
    return out


def parse_volume_long(value: dict[str, Any], base: str, home: str | None) -> dict[str, Any]:
    value = drop_x(value)
    for sub in ("bind", "volume", "tmpfs", "image"):
        if isinstance(value.get(sub), dict):
            value[sub] = drop_x(value[sub])
    out = dict(value)
    vtype = value.get("type")
    if vtype is None:
        raise Invalid("volume mapping needs a type (bind, volume or tmpfs)", ("type",))
    if vtype == "npipe":
        raise Invalid("type npipe (Windows named pipes) is not supported on Linux", ("type",))
    if vtype in ("image", "cluster"):
        raise Invalid(f"type {vtype} is not supported by pystack", ("type",))
    if vtype not in ("bind", "volume", "tmpfs"):
        raise Invalid(f'invalid volume type "{vtype}": must be bind, volume or tmpfs', ("type",))
    target = value.get("target")
    if not isinstance(target, str) or not target.startswith("/"):
        raise Invalid("volume target must be an absolute container path", ("target",))
    if "read_only" in value:
        out["read_only"] = parse_bool(value["read_only"])
    source = value.get("source")
    if vtype == "bind":
        if not isinstance(source, str) or not source:
            raise Invalid("a bind mount needs a source path", ("source",))
        out["source"] = resolve_path(source, base, home)
        bind = dict(value.get("bind") or {})
        if "create_host_path" in bind:
            bind["create_host_path"] = parse_bool(bind["create_host_path"])
        else:
            bind["create_host_path"] = False
        out["bind"] = bind
    elif vtype == "volume":
        opts = dict(value.get("volume") or {})
        if "nocopy" in opts:
            opts["nocopy"] = parse_bool(opts["nocopy"])
        if "labels" in opts:
            opts["labels"] = {k: v or "" for k, v in list_or_dict(opts["labels"], "label").items()}
        out["volume"] = opts
    else:
        if source is not None:
            raise Invalid("a tmpfs mount takes no source", ("source",))
        opts = dict(value.get("tmpfs") or {})
        if opts.get("size") is not None:
            try:
                opts["size"] = parse_size(opts["size"])
            except Invalid as exc:
                raise Invalid(exc.message, ("tmpfs", "size")) from None
        if isinstance(opts.get("mode"), str):
            try:
                opts["mode"] = int(opts["mode"], 8)
            except ValueError:
                raise Invalid(f"invalid mode {opts['mode']!r}: must be octal", ("tmpfs", "mode")) from None
        elif opts.get("mode") is not None:
            opts["mode"] = parse_int(opts["mode"], "mode")
        out["tmpfs"] = opts
    return out


def parse_volumes(value: Any, base: str, home: str | None) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise Invalid(f"must be a list, not {kind(value)}")
    out: list[dict[str, Any]] = []
    errors: list[Invalid] = []
    for i, item in enumerate(value):
        try:
            if isinstance(item, str):
                out.append(parse_volume_short(item, base, home))
            elif isinstance(item, dict):
                out.append(parse_volume_long(item, base, home))
            else:
                raise Invalid(f"invalid volume {kind(item)}: must be a string or a mapping")
        except Invalid as exc:
            errors.append(Invalid(exc.message, (i, *exc.subpath)))
    if errors:
        raise MultiInvalid(errors)
    return out
