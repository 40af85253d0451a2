"""Compose's merge rules for several ``-f`` files and for ``extends``.

Mappings merge key by key; sequences append, except where the spec gives an attribute a unique key
(ports, volumes, secrets, configs, devices, env_file ...) — then a later entry with the same key
replaces the earlier one in place; ``command``/``entrypoint``/``healthcheck.test`` are replaced;
``environment``/``labels``-like attributes merge as maps whatever their written form. A value tagged
``!reset`` removes what came before it, ``!override`` replaces it wholesale. Inputs are not mutated;
positions travel with the values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.spec.source import OVERRIDE, RESET, MDict, MList, Path_

_MAP_ATTRS = {"environment", "labels", "annotations", "sysctls"}
_REPLACE_ATTRS = {"command", "entrypoint"}
_UNIQUE_ATTRS = {"dns", "dns_opt", "dns_search", "cap_add", "cap_drop", "profiles", "links", "expose", "tmpfs"}
_NAMED_SECTIONS = {"services", "networks", "volumes", "configs", "secrets", "models"}


def strip_tags(value: Any) -> Any:
    """Drop ``!reset`` entries (nothing before them to reset) and forget all merge tags, in place."""
    if isinstance(value, MDict):
        if value.tags:
            for k, tag in value.tags.items():
                if tag == RESET:
                    value.pop(k, None)
            value.tags = {}
        for v in value.values():
            if isinstance(v, MDict | MList):
                strip_tags(v)
    elif isinstance(value, MList):
        for v in value:
            if isinstance(v, MDict | MList):
                strip_tags(v)
    return value


def merge_files(base: MDict, override: MDict) -> MDict:
    """Merge a whole stack file over the result of the previous ones."""
    return _merge_maps(base, override, ())


def merge_service(base: Any, override: Any, name: str = "*") -> Any:
    """Merge a service definition over the one it extends."""
    return _merge_value(base, override, ("services", name))


def _merge_maps(base: MDict, over: MDict, path: Path_) -> MDict:
    out = MDict(base.pos if base.pos is not None else over.pos)
    for k in base:
        out.copy_entry(base, k)
    tags = over.tags
    for k, v in over.items():
        tag = tags.get(k)
        if tag == RESET:
            out.pop(k, None)
            continue
        if tag == OVERRIDE or k not in out:
            out.copy_entry(over, k, strip_tags(v), use_value=True)
            continue
        merged = _merge_value(out[k], v, (*path, k))
        if merged is out[k]:
            continue
        out.copy_entry(over, k, merged, use_value=True)
        if merged is not v and k in base.vpos and isinstance(merged, MDict | MList):
            out.vpos[k] = base.vpos[k]  # a merged collection keeps the place it was first written
    return out


def _rule(path: Path_) -> Callable[[Any, Any, Path_], Any] | None:
    n = len(path)
    if n == 0:
        return None
    head = path[0]
    if n == 2 and head in _NAMED_SECTIONS:
        return _merge_named
    if head == "services" and n >= 3:
        attr = path[2]
        if n == 3:
            return _SERVICE_RULES.get(attr) if isinstance(attr, str) else None
        sub = path[3]
        if n == 4:
            if attr == "build":
                if sub in ("args", "labels", "additional_contexts"):
                    return _merge_as_map
                if sub == "tags":
                    return _merge_unique(_whole)
                if sub == "extra_hosts":
                    return _merge_extra_hosts
            if attr == "healthcheck" and sub == "test":
                return _replace
            if attr == "deploy" and sub == "labels":
                return _merge_as_map
            if attr == "ulimits":
                return _merge_ulimit
        if n == 5 and attr == "networks" and path[4] in ("aliases", "link_local_ips"):
            return _merge_unique(_whole)
    if n == 3 and head in ("networks", "volumes", "configs", "secrets") and path[2] == "labels":
        return _merge_as_map
    if n == 4 and head == "networks" and path[2] == "ipam" and path[3] == "config":
        return _merge_unique(lambda v: str(v.get("subnet")) if isinstance(v, dict) else str(v))
    return None


def _merge_value(base: Any, over: Any, path: Path_) -> Any:
    if base is None:
        return strip_tags(over)
    if over is None:
        return base if isinstance(base, MDict | MList) else None
    rule = _rule(path)
    if rule is not None:
        return rule(base, over, path)
    return _default(base, over, path)


def _default(base: Any, over: Any, path: Path_) -> Any:
    if isinstance(base, MDict) and isinstance(over, MDict):
        return _merge_maps(base, over, path)
    if isinstance(base, MList) and isinstance(over, MList):
        return _concat(base, strip_tags(over))
    return strip_tags(over)


def _merge_named(base: Any, over: Any, path: Path_) -> Any:
    """A service/network/volume... by name: a null definition is an empty one."""
    if not isinstance(base, MDict):
        base = MDict(None)
    if not isinstance(over, MDict):
        return base
    return _merge_maps(base, over, path)


def _replace(base: Any, over: Any, path: Path_) -> Any:
    return strip_tags(over)


def _concat(a: MList, b: MList) -> MList:
    out = MList(a.pos if a.pos is not None else b.pos)
    for i, v in enumerate(a):
        out.add(v, a.where(i))
    for i, v in enumerate(b):
        out.add(v, b.where(i))
    return out


def _as_list(value: Any) -> MList:
    if isinstance(value, MList):
        return value
    out = MList(None)
    out.add(value, None)
    return out


def _merge_unique(key: Callable[[Any], Any]) -> Callable[[Any, Any, Path_], Any]:
    def merge(base: Any, over: Any, path: Path_) -> Any:
        if isinstance(over, MDict) or isinstance(base, MDict):
            return _default(base, over, path)
        both = _concat(_as_list(base), _as_list(strip_tags(over)))
        out = MList(both.pos)
        seen: dict[Any, int] = {}
        for i, v in enumerate(both):
            k = key(v)
            if k in seen:
                out[seen[k]] = v
                out.ipos[seen[k]] = both.where(i)
            else:
                seen[k] = len(out)
                out.add(v, both.where(i))
        return out

    return merge


def _whole(v: Any) -> Any:
    return repr(v) if isinstance(v, dict | list) else str(v)


def _to_map(value: Any, sep: str = "=") -> MDict:
    """``["A=1", "B"]`` → ``{A: "1", B: None}``, keeping each item's position."""
    if isinstance(value, MDict):
        return value
    out = MDict(getattr(value, "pos", None))
    if isinstance(value, MList):
        for i, item in enumerate(value):
            text = str(item)
            if sep in text:
                k, v = text.split(sep, 1)
                out.put(k, v, value.where(i), value.where(i))
            else:
                out.put(text, None, value.where(i), value.where(i))
    return out


def _merge_as_map(base: Any, over: Any, path: Path_) -> Any:
    if not isinstance(base, MDict | MList) or not isinstance(over, MDict | MList):
        return strip_tags(over)
    return _merge_maps(_to_map(base), _to_map(strip_tags(over)), path)


def _host_map(value: Any) -> MDict:
    if isinstance(value, MDict):
        return value
    out = MDict(getattr(value, "pos", None))
    for i, item in enumerate(value):
        text = str(item)
        sep = "=" if "=" in text else ":"
        k, _, v = text.partition(sep)
        out.put(k, v, value.where(i), value.where(i))
    return out


def _merge_extra_hosts(base: Any, over: Any, path: Path_) -> Any:
    if isinstance(base, MList) and isinstance(over, MList):
        return _merge_unique(_whole)(base, over, path)
    if not isinstance(base, MDict | MList) or not isinstance(over, MDict | MList):
        return strip_tags(over)
    return _merge_maps(_host_map(base), _host_map(strip_tags(over)), path)


def _names_to_map(value: Any, default: Callable[[], Any]) -> MDict:
    if isinstance(value, MDict):
        return value
    out = MDict(getattr(value, "pos", None))
    for i, item in enumerate(_as_list(value)):
        out.put(str(item), default(), value.where(i) if isinstance(value, MList) else None)
    return out


def _merge_depends_on(base: Any, over: Any, path: Path_) -> Any:
    if isinstance(base, MList) and isinstance(over, MList):
        return _merge_unique(_whole)(base, over, path)

    def started() -> MDict:
        d = MDict(None)
        d["condition"] = "service_started"
        d["required"] = True
        return d

    return _merge_maps(_names_to_map(base, started), _names_to_map(strip_tags(over), started), path)


def _merge_networks(base: Any, over: Any, path: Path_) -> Any:
    if isinstance(base, MList) and isinstance(over, MList):
        return _merge_unique(_whole)(base, over, path)
    return _merge_maps(_names_to_map(base, lambda: None), _names_to_map(strip_tags(over), lambda: None), path)


def _merge_build(base: Any, over: Any, path: Path_) -> Any:
    def long(v: Any) -> Any:
        if isinstance(v, str):
            d = MDict(None)
            d["context"] = v
            return d
        return v

    b, o = long(base), long(over)
    if isinstance(b, MDict) and isinstance(o, MDict):
        return _merge_maps(b, o, path)
    return strip_tags(over)


def _merge_logging(base: Any, over: Any, path: Path_) -> Any:
    if isinstance(base, MDict) and isinstance(over, MDict):
        bd, od = base.get("driver"), over.get("driver")
        if bd is not None and od is not None and bd != od:
            return strip_tags(over)
        return _merge_maps(base, over, path)
    return strip_tags(over)


def _merge_ulimit(base: Any, over: Any, path: Path_) -> Any:
    if isinstance(base, MDict) and isinstance(over, MDict):
        return _merge_maps(base, over, path)
    return strip_tags(over)


def _split_proto(text: str) -> tuple[str, str]:
    body, _, proto = text.partition("/")
    return body, proto or "tcp"


def port_key(item: Any) -> Any:
    """(host_ip, published, target, protocol) of a port in short or long form."""
    if isinstance(item, dict):
        return (
            str(item.get("host_ip") or ""),
            str(item.get("published") or ""),
            str(item.get("target") or ""),
            str(item.get("protocol") or "tcp"),
        )
    body, proto = _split_proto(str(item))
    ip = ""
    if body.startswith("["):
        end = body.find("]")
        if end > 0:
            ip, body = body[1:end], body[end + 1 :].lstrip(":")
    parts = body.rsplit(":", 2)
    if len(parts) == 3:
        ip, published, target = parts
    elif len(parts) == 2:
        published, target = parts
    else:
        published, target = "", parts[0]
    return (ip, published, target, proto)


def volume_key(item: Any) -> Any:
    if isinstance(item, dict):
        return str(item.get("target"))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _mount_key(default_dir: str) -> Callable[[Any], Any]:
    def key(item: Any) -> Any:
        if isinstance(item, dict):
            target = item.get("target")
            return str(target) if target else f"{default_dir}/{item.get('source')}"
        return f"{default_dir}/{item}"

    return key


def _device_key(item: Any) -> Any:
    if isinstance(item, dict):
        return str(item.get("target"))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _env_file_key(item: Any) -> Any:
    return str(item.get("path")) if isinstance(item, dict) else str(item)


_SERVICE_RULES: dict[str, Callable[[Any, Any, Path_], Any]] = {
    **{a: _merge_as_map for a in _MAP_ATTRS},
    **{a: _replace for a in _REPLACE_ATTRS},
    **{a: _merge_unique(_whole) for a in _UNIQUE_ATTRS},
    "env_file": _merge_unique(_env_file_key),
    "label_file": _merge_unique(_env_file_key),
    "ports": _merge_unique(port_key),
    "volumes": _merge_unique(volume_key),
    "secrets": _merge_unique(_mount_key("/run/secrets")),
    "configs": _merge_unique(_mount_key("")),
    "devices": _merge_unique(_device_key),
    "extra_hosts": _merge_extra_hosts,
    "depends_on": _merge_depends_on,
    "networks": _merge_networks,
    "build": _merge_build,
    "logging": _merge_logging,
}
