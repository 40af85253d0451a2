"""Value checks of the keys that loosen or tighten a container's isolation.

``ipc``, ``pid``, ``uts``, ``userns_mode``, ``cgroup_parent``, ``devices``,
``device_cgroup_rules``, ``group_add`` and ``volumes_from`` all reach the kernel as namespace
paths, cgroup rules or mounts. A value pystack cannot honour exactly must stop the load with the
file, line and key, never be passed on half understood: each of these keys hands the container
more (or less) than the rest of the file says.
"""

from __future__ import annotations

import re
from typing import Any

from orchestrator.spec.report import Path_, Report

# Docker's own grammar for a device cgroup rule: type, major:minor, access.
DEVICE_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")
_JOINABLE = ("service:", "container:")
_MODES: dict[str, tuple[str, ...]] = {
    "ipc": ("host", "shareable", "private", "none"),
    "pid": ("host",),
    "uts": ("host",),
    "userns_mode": ("host",),
}
_WHY = {
    "ipc": "host, shareable, private, none, service:NAME or container:NAME",
    "pid": "host, service:NAME or container:NAME",
    "uts": "host (the only value; leave it out for a namespace of the container's own)",
    "userns_mode": "host (pystack does not remap users into a user namespace)",
}


def check(out: dict[str, Any], path: Path_, report: Report) -> None:
    """Report every value of these keys that pystack would not apply as written."""
    for key, modes in _MODES.items():
        value = out.get(key)
        if value is None:
            continue
        joinable = key in ("ipc", "pid") and value.startswith(_JOINABLE) and value.partition(":")[2]
        if value not in modes and not joinable:
            report.error((*path, key), f'invalid value "{value}": must be {_WHY[key]}')
    if out.get("uts") == "host" and out.get("hostname"):
        report.error((*path, "hostname"), "cannot be set with uts: host (the container uses the host's name)")
    if out.get("ipc") == "none" and (out.get("resources") or {}).get("shm_size") is not None:
        report.error((*path, "shm_size"), "cannot be set with ipc: none (the container has no /dev/shm)")
    parent = out.get("cgroup_parent")
    if parent is not None and (not parent.strip("/") or ".." in parent.split("/")):
        report.error((*path, "cgroup_parent"), f'invalid cgroup parent "{parent}": a path with no ".." part')
    for i, rule in enumerate(out.get("device_cgroup_rules") or []):
        if not DEVICE_RULE.match(rule):
            report.error((*path, "device_cgroup_rules", i),
                         f'invalid rule "{rule}": expected "TYPE MAJOR:MINOR ACCESS", e.g. "c 1:3 rwm"')
    for i, dev in enumerate(out.get("devices") or []):
        _check_device(dev, (*path, "devices", i), report)
    for i, group in enumerate(out.get("group_add") or []):
        if not group or ":" in group or "\n" in group:
            report.error((*path, "group_add", i), f'invalid group "{group}": a group name or number')
    for i, entry in enumerate(out.get("volumes_from") or []):
        parts = entry.split(":")
        if parts[0] == "container":
            parts = parts[1:]
        if not parts or not parts[0] or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("ro", "rw")):
            report.error((*path, "volumes_from", i),
                         f'invalid entry "{entry}": expected SERVICE[:ro|rw] or container:NAME[:ro|rw]')


def _check_device(dev: Any, path: Path_, report: Report) -> None:
    if not isinstance(dev, dict):
        return  # the model reports the type
    source, target, perms = dev.get("source"), dev.get("target"), dev.get("permissions", "rwm")
    if isinstance(source, str) and not source.startswith("/"):
        report.error(path, f'invalid device "{source}": an absolute host path (CDI device names are not supported)')
    elif isinstance(target, str) and not target.startswith("/"):
        report.error(path, f'invalid device target "{target}": an absolute path in the container')
    elif isinstance(perms, str) and (not perms or not set(perms) <= set("rwm")):
        report.error(path, f'invalid device permissions "{perms}": made of r, w and m')
