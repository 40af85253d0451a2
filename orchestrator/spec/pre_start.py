"""``pre_start``: one-shot containers that prepare what a service needs before its containers start.

Compose's init containers. Each hook is a container specification of its own that inherits the
service's by Compose's merge rules for an override file: collections complete the service's
(environment and labels by key, volumes by target, extra hosts by name), the hook's own entries
win on conflicts, and a scalar it sets replaces the service's. So a hook that names only a command
runs it on the service's image (built or pulled), with its volumes, networks and environment; one
with an ``image`` of its own runs that image instead. ``per_replica: true`` runs the hook for each
new container of the service rather than once for the service.

A hook is a one-shot container: what only a long-running service has is neither inherited nor
accepted in a hook (published ports, scale, restart policy, health check, dependencies, container
name, profiles, develop, the lifecycle hooks themselves, a build of its own).

Each hook is stored as ``{"per_replica": bool, "hook": {...}, "service": {...}}``: ``service`` the
normalized, merged specification the runner container is made from, ``hook`` what the hook itself
wrote (interpolated), which is what ``config`` shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.spec.merge import merge_service
from orchestrator.spec.models.units import Invalid, kind, parse_bool
from orchestrator.spec.report import Path_, Report
from orchestrator.spec.source import MDict, MList, plain

# what a one-shot runner has no use for: not taken from the service, refused in a hook
NOT_FOR_A_HOOK = ("build", "ports", "scale", "restart", "healthcheck", "depends_on", "container_name", "profiles",
                  "develop", "extends", "pre_start", "post_start", "pre_stop", "attach")
HOOK_ONLY = "per_replica"

#: (service name, raw service, report, its path) → the normalized service, or None
Normalizer = Callable[[str, Any, Report, Path_], "dict[str, Any] | None"]


def normalize_pre_start(name: str, raw: Mapping[str, Any], value: Any, report: Report,
                        normalize: Normalizer) -> list[dict[str, Any]]:
    """The hooks of service ``name`` (``raw`` as written, ``value`` its ``pre_start``); one that is
    not valid is reported and left empty (the load then fails with every error found)."""
    path: Path_ = ("services", name, "pre_start")
    if value is None:
        return []
    if not isinstance(value, list):
        report.error(path, f"must be a list of hooks (mappings), not {kind(value)}")
        return []
    base = _without(raw, (*NOT_FOR_A_HOOK, "pre_start"))
    hooks: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        hpath: Path_ = (*path, i)
        hooks.append({})  # in its place whatever comes of it: a later hook's errors name its own index
        if not isinstance(item, Mapping):
            report.error(hpath, f"a pre_start hook must be a mapping, not {kind(item)}")
            continue
        refused = [k for k in item if k in NOT_FOR_A_HOOK]
        for k in refused:
            report.error((*hpath, k), f"not for a pre_start hook (a one-shot container): {k}", at_key=True)
        try:
            per_replica = parse_bool(item.get(HOOK_ONLY, False))
        except Invalid as exc:
            report.error((*hpath, HOOK_ONLY), exc.message)
            continue
        if refused:
            continue
        own = _without(item, (HOOK_ONLY,))
        merged = merge_service(base, own, name)
        if not merged.get("image") and "build" in raw:  # the service's image, built under its name
            merged["build"] = raw["build"]
        sub = Report(report.positions)
        service = normalize(name, merged, sub, hpath)
        for err in sub.errors:  # its warnings are the service's, already given once
            report.errors.append(err)
        if service is None or sub.errors:
            continue
        written = plain(own)  # as written (``config`` shows it so): what it adds to the service
        hooks[-1] = {"per_replica": per_replica, "hook": written, "service": service}
    return hooks


def _without(raw: Mapping[str, Any], drop: tuple[str, ...]) -> MDict:
    """``raw`` without the keys ``drop``, as a marked mapping (keeping where each was written)."""
    if isinstance(raw, MDict):
        out = MDict(raw.pos)
        for k in raw:
            if k not in drop:
                out.copy_entry(raw, k)
        return out
    marked = _marked({k: v for k, v in raw.items() if k not in drop})
    assert isinstance(marked, MDict)
    return marked


def _marked(value: Any) -> Any:
    """Plain mappings and lists as the merge's marked ones (a stack built from plain data in tests)."""
    if isinstance(value, MDict | MList):
        return value
    if isinstance(value, Mapping):
        out = MDict()
        for k, v in value.items():
            out[k] = _marked(v)
        return out
    if isinstance(value, list):
        lst = MList()
        for v in value:
            lst.add(_marked(v), None)
        return lst
    return value
