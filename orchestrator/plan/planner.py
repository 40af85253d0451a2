"""``(desired services, observed containers, options) → Plan``: the one place that decides.

Compose's rules, made explicit: a container whose config hash differs is recreated, and so are
dependants that asked for ``restart: true`` on it; a stopped container with an unchanged hash is
started; replicas above the scale are removed from the highest number down; a container left half
made by a crash (``creating``) is recreated; containers of services no longer in the file are
orphans, removed only when asked.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from orchestrator.plan.diff import changed_paths, summarize
from orchestrator.plan.model import Action, DesiredService, ObservedContainer, Plan


@dataclass(frozen=True)
class PlanOptions:
    """The ``up`` flags that change what the planner decides, kept apart from the side-effecting options."""
    force_recreate: bool = False
    no_recreate: bool = False
    no_start: bool = False
    remove_orphans: bool = False
    ignore_orphans: bool = False  # COMPOSE_IGNORE_ORPHANS: orphans are neither removed nor warned about
    scale: Mapping[str, int] | None = None
    # The services named on the command line (None: all). As in Compose, --force-recreate forces
    # only these; their dependencies brought along are forced by --always-recreate-deps alone.
    selected: frozenset[str] | None = None
    recreate_deps: bool = False

    def forced(self, service: str) -> bool:
        """Whether ``service``'s containers are recreated even when their config hash is unchanged."""
        if self.selected is None or service in self.selected:
            return self.force_recreate
        return self.recreate_deps


def _recreate_reason(c: ObservedContainer, svc: DesiredService) -> str:
    if c.spec and svc.spec:
        return summarize(changed_paths(c.spec, svc.spec))
    return "configuration changed"


def make_plan(
    project: str,
    desired: Sequence[DesiredService],
    observed: Iterable[ObservedContainer],
    order: list[list[str]],
    options: PlanOptions = PlanOptions(),
    defined: Collection[str] = (),
) -> Plan:
    """``defined``: every service the stack file defines, wanted or not (left out by a profile, or
    by naming other services): their containers are left alone, never orphans."""
    plan = Plan(project=project, order=order)
    by_service: dict[str, list[ObservedContainer]] = {}
    for c in observed:
        by_service.setdefault(c.service, []).append(c)
    wanted = {s.name: s for s in desired}
    recreated: set[str] = set()

    for generation in order:
        for name in generation:
            svc = wanted.get(name)
            if svc is None:
                continue
            scale = (options.scale or {}).get(name, svc.scale)
            existing = sorted(by_service.get(name, []), key=lambda c: c.number)
            followed = [
                d.service for d in svc.depends_on if d.restart and d.service in recreated
            ]
            keep: list[ObservedContainer] = []
            for c in existing:
                if c.number > scale:
                    plan.actions.append(
                        Action("remove", name, c.number, f"scale is {scale}", c.id, c.name)
                    )
                    continue
                keep.append(c)
                if c.status in ("creating", "removing"):
                    plan.actions.append(
                        Action("recreate", name, c.number, f"left {c.status} by an interrupted run", c.id, c.name)
                    )
                    recreated.add(name)
                elif options.no_recreate:
                    if c.status != "running" and not options.no_start:
                        plan.actions.append(Action("start", name, c.number, f"container {c.status}", c.id, c.name))
                elif options.forced(name):
                    flag = "--force-recreate" if options.selected is None or name in options.selected \
                        else "--always-recreate-deps"
                    plan.actions.append(Action("recreate", name, c.number, flag, c.id, c.name))
                    recreated.add(name)
                elif c.config_hash != svc.config_hash:
                    plan.actions.append(
                        Action("recreate", name, c.number, _recreate_reason(c, svc), c.id, c.name)
                    )
                    recreated.add(name)
                elif followed:
                    plan.actions.append(
                        Action("recreate", name, c.number, f"dependency {', '.join(followed)} recreated", c.id, c.name)
                    )
                    recreated.add(name)
                elif c.status != "running" and not options.no_start:
                    plan.actions.append(Action("start", name, c.number, f"container {c.status}", c.id, c.name))
            have = {c.number for c in keep}
            for number in range(1, scale + 1):
                if number not in have:
                    why = "new service" if not existing else f"scale is {scale}"
                    plan.actions.append(Action("create", name, number, why))
                    recreated.add(name)

    for service, containers in sorted(by_service.items()):
        if service in wanted or service in defined:
            continue
        for c in containers:
            if options.ignore_orphans and not options.remove_orphans:
                continue
            if options.remove_orphans:
                why = "orphan: service not in the stack file"
                plan.actions.append(Action("remove", service, c.number, why, c.id, c.name))
            else:
                plan.warnings.append(
                    f"found orphan container {c.name} of service {service!r}; "
                    "use --remove-orphans to remove it"
                )
    return plan
