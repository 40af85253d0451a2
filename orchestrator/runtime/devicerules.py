"""The device rules the runtime adds after a bundle's own, as runc does.

A container's /dev always has the standard nodes (null, zero, tty, ...), so the runtime appends
their allow rules after the config's (and an ``rwm`` rule for each ``linux.devices`` node the rules
do not name): a config that denies everything must not stop their use. Appending is kept for any
bundle, because order matters (the last matching rule wins, and a config may deny after allowing);
a standard rule is left out only where it is already in force at the end of the config's list,
as in every bundle pystack writes. Otherwise each container would get the same nine rules twice,
in the v1 ``devices.allow`` writes and in the v2 eBPF program alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.runtime.spec import STANDARD_DEVICE_RULES

_Key = tuple[str, Any, Any]
_EVERY: _Key = ("a", None, None)


def with_default_devices(cfg: dict[str, Any]) -> None:
    """Append the standard rules not yet in force and the config's own devices after its device rules.

    A device of ``linux.devices`` that the rules already allow keeps their access: appending a
    blanket ``rwm`` for it would undo a read-only grant."""
    linux = cfg.setdefault("linux", {})
    res = linux.get("resources")
    if not res or "devices" not in res:
        return
    # A device the rules already name keeps the access they give it (``devices: [X:Y:r]``).
    named = {(r.get("type"), r.get("major"), r.get("minor")) for r in res["devices"] if r.get("allow")}
    extra = [{"allow": True, "type": d["type"], "major": d.get("major"), "minor": d.get("minor"), "access": "rwm"}
             for d in linux.get("devices") or []
             if d.get("type") in ("c", "b") and (d["type"], d.get("major"), d.get("minor")) not in named]
    res["devices"] = [*res["devices"], *standard_rules_to_append(res["devices"]), *extra]


def standard_rules_to_append(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The standard rules whose appending after ``rules`` can change what the container may open."""
    return [dict(r) for r in STANDARD_DEVICE_RULES if not in_force(rules, r)]


def in_force(rules: Sequence[Mapping[str, Any]], wanted: Mapping[str, Any]) -> bool:
    """Whether the allow rule ``wanted`` already holds after ``rules``: some rule allows the very same
    device numbers with at least its access, and no deny after it could take any of that back.

    Only the same numbers count, or an allow of every device (a privileged container's): cgroup
    v1 does not apply rules as "last match wins" but edits a list of exceptions keyed by the exact
    numbers, where a wider allow such as ``c *:* rwm`` does not lift a narrower deny before it that
    an appended exact allow would. (An ``a`` allow clears the whole list in v1.)"""
    key, access = _key(wanted), _access(wanted)
    for rule in reversed(rules):
        if not rule.get("allow"):
            if _may_deny(rule, key, access):
                return False
        elif _key(rule) in (key, _EVERY) and access <= _access(rule):
            return True
    return False


def _may_deny(rule: Mapping[str, Any], key: _Key, access: set[str]) -> bool:
    """Whether the deny ``rule`` could touch any of ``access`` on the devices of ``key``; type ``a``
    denies everything in cgroup v1 whatever numbers it carries."""
    kind, major, minor = _key(rule)
    if kind == "a":
        return True
    if kind != key[0] or not access & _access(rule):
        return False
    return _same_or_any(major, key[1]) and _same_or_any(minor, key[2])


def _same_or_any(a: Any, b: Any) -> bool:
    return a is None or b is None or a == b


def _key(rule: Mapping[str, Any]) -> _Key:
    """(type, major, minor) with OCI's defaults spelled one way: type ``a``, None for any number."""
    major, minor = rule.get("major"), rule.get("minor")
    return (rule.get("type") or "a", None if major in (None, -1) else major, None if minor in (None, -1) else minor)


def _access(rule: Mapping[str, Any]) -> set[str]:
    return set(rule.get("access") or "rwm")
