"""Reading a bundle's config.json and refusing what this engine cannot honour, with one clear line.

Full JSON-Schema validation costs ~80 ms of imports, too much on the create path; instead the
fields the engine consumes are type-checked here (the tests validate every config we write
against the real schema). Pure: no kernel calls.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from orchestrator.errors import RuntimeFailure
from orchestrator.runtime import hooks

# null, zero, full, random, urandom, tty, console, ptmx and /dev/pts/*: the nodes every container's
# /dev has and may use whatever its device rules say (runc's AllowedDevices)
STANDARD_DEVICE_RULES: tuple[dict[str, Any], ...] = (
    *({"allow": True, "type": "c", "major": 1, "minor": m, "access": "rwm"} for m in (3, 5, 7, 8, 9)),
    *({"allow": True, "type": "c", "major": 5, "minor": m, "access": "rwm"} for m in (0, 1, 2)),
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},
)

_HUGEPAGE = re.compile(r"^[1-9][0-9]*[KMG]B$")
_NS_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")


def load_config(bundle: Path) -> dict[str, Any]:
    path = bundle / "config.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RuntimeFailure(f"bundle {bundle}: no config.json") from None
    except OSError as exc:
        raise RuntimeFailure(f"bundle {bundle}: cannot read config.json: {exc.strerror}") from None
    try:
        cfg = json.loads(raw)
    except ValueError as exc:
        raise RuntimeFailure(f"{path}: invalid JSON: {exc}") from None
    validate(cfg, str(path))
    return cfg  # type: ignore[no-any-return]


def _fail(where: str, key: str, msg: str) -> RuntimeFailure:
    return RuntimeFailure(f"{where}: {key}: {msg}")


def _want(where: str, key: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    if isinstance(value, bool) and kind in (int, (int,)):
        raise _fail(where, key, f"must be {what}")
    if not isinstance(value, kind):
        raise _fail(where, key, f"must be {what}")


def _uint(where: str, key: str, value: Any, bits: int = 32) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 1 << bits:
        raise _fail(where, key, f"must be an unsigned {bits}-bit integer")


def validate(cfg: Any, where: str = "config.json") -> None:
    """Raise RuntimeFailure for a config this Linux engine must refuse; return None when usable."""
    if not isinstance(cfg, dict):
        raise RuntimeFailure(f"{where}: must be a JSON object")
    _want(where, "ociVersion", cfg.get("ociVersion"), str, "a string")
    root = cfg.get("root")
    if not isinstance(root, dict):
        raise _fail(where, "root", "must be an object with a path")
    _want(where, "root.path", root.get("path"), str, "a string")
    for other in ("windows", "solaris", "vm", "zos", "freebsd"):
        if other in cfg:
            raise _fail(where, other, "this runtime runs Linux containers only")
    proc = cfg.get("process")
    if proc is not None:
        _validate_process(where, proc)
    for i, m in enumerate(cfg.get("mounts") or []):
        key = f"mounts[{i}]"
        _want(where, key, m, dict, "an object")
        _want(where, key + ".destination", m.get("destination"), str, "a string")
        if not m["destination"].startswith("/"):
            raise _fail(where, key + ".destination", "must be an absolute path")
        for k in ("source", "type"):
            if k in m:
                _want(where, f"{key}.{k}", m[k], str, "a string")
        for j, opt in enumerate(m.get("options") or []):
            _want(where, f"{key}.options[{j}]", opt, str, "a string")
    linux = cfg.get("linux")
    if linux is not None:
        _validate_linux(where, linux)
    _want(where, "hostname", cfg.get("hostname", ""), str, "a string")
    hooks.validate(where, cfg.get("hooks"))


def _validate_process(where: str, proc: Any) -> None:
    _want(where, "process", proc, dict, "an object")
    args = proc.get("args")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        raise _fail(where, "process.args", "must be a non-empty list of strings")
    cwd = proc.get("cwd")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        raise _fail(where, "process.cwd", "must be an absolute path")
    user = proc.get("user")
    _want(where, "process.user", user, dict, "an object with uid and gid")
    _uint(where, "process.user.uid", user.get("uid"))
    _uint(where, "process.user.gid", user.get("gid"))
    for g in user.get("additionalGids") or []:
        _uint(where, "process.user.additionalGids", g)
    for e in proc.get("env") or []:
        if not isinstance(e, str) or "=" not in e:
            raise _fail(where, "process.env", f"{e!r} is not KEY=VALUE")
    for r in proc.get("rlimits") or []:
        if not isinstance(r, dict) or not isinstance(r.get("type"), str) or not r["type"].startswith("RLIMIT_"):
            raise _fail(where, "process.rlimits", "each needs a type RLIMIT_*")
        _uint(where, f"process.rlimits.{r['type']}.soft", r.get("soft"), 64)
        _uint(where, f"process.rlimits.{r['type']}.hard", r.get("hard"), 64)
    caps = proc.get("capabilities") or {}
    _want(where, "process.capabilities", caps, dict, "an object")
    for k, v in caps.items():
        if not isinstance(v, list) or not all(isinstance(c, str) for c in v):
            raise _fail(where, f"process.capabilities.{k}", "must be a list of strings")


def _validate_linux(where: str, linux: Any) -> None:
    _want(where, "linux", linux, dict, "an object")
    for i, ns in enumerate(linux.get("namespaces") or []):
        if not isinstance(ns, dict) or ns.get("type") not in _NS_TYPES:
            raise _fail(where, f"linux.namespaces[{i}].type", f"must be one of {', '.join(_NS_TYPES)}")
        if "path" in ns:
            _want(where, f"linux.namespaces[{i}].path", ns["path"], str, "a string")
    for k in ("uidMappings", "gidMappings"):
        for m in linux.get(k) or []:
            for f in ("containerID", "hostID", "size"):
                _uint(where, f"linux.{k}.{f}", (m or {}).get(f))
    for name, dev in (linux.get("netDevices") or {}).items():
        if not isinstance(dev, dict) or not isinstance(dev.get("name", name), str):
            raise _fail(where, f"linux.netDevices.{name}.name", "must be a string")
    res = linux.get("resources") or {}
    _want(where, "linux.resources", res, dict, "an object")
    for h in res.get("hugepageLimits") or []:
        if not isinstance(h, dict) or not _HUGEPAGE.match(str(h.get("pageSize", ""))):
            raise _fail(where, "linux.resources.hugepageLimits.pageSize", "must look like 2MB or 1GB")
        _uint(where, "linux.resources.hugepageLimits.limit", h.get("limit"), 64)
    for dev, lim in (res.get("rdma") or {}).items():
        for f in ("hcaHandles", "hcaObjects"):
            if f in (lim or {}):
                _uint(where, f"linux.resources.rdma.{dev}.{f}", lim[f])
    sysctl = linux.get("sysctl") or {}
    if not isinstance(sysctl, dict) or not all(isinstance(v, str) for v in sysctl.values()):
        raise _fail(where, "linux.sysctl", "must map names to strings")
    for k in ("maskedPaths", "readonlyPaths"):
        v = linux.get(k) or []
        if not isinstance(v, list) or not all(isinstance(p, str) and p.startswith("/") for p in v):
            raise _fail(where, f"linux.{k}", "must be a list of absolute paths")


def namespaces(cfg: dict[str, Any]) -> dict[str, str | None]:
    """type → path to join, or None for a new one; a type absent means the host's."""
    out: dict[str, str | None] = {}
    for ns in (cfg.get("linux") or {}).get("namespaces") or []:
        out[ns["type"]] = ns.get("path") or None
    return out
