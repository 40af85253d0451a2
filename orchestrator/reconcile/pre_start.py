"""Running a service's ``pre_start`` hooks: one-shot containers before its new containers first start.

When: before the first start of a container that has not had them (a container just made by
``up``, or one that ``create`` or ``up --no-start`` left for ``start``). A container that ran them
keeps a mark in its directory, so a restart, or a ``stop`` then ``start``, runs none; a recreate
(the file changed, ``--force-recreate``) makes a new container, which runs them again. A hook
runs once for the service, and not at all while another replica already runs (a scale-up), unless
it is ``per_replica``: then once before each new container. Hooks run one after another in the
order written; the first that exits non-zero fails the service's start (the containers stay
created; the next ``up`` or ``start`` tries again), naming the hook and its exit code.

Each runner is a one-off container named ``<project>-<service>-pre_start-<i>`` (with ``-<n>``
per replica) made from the service's plan completed by the hook (see
:mod:`orchestrator.spec.pre_start`); it is removed, anonymous volumes and all, once it has ended.
A runner left behind by a command killed while it ran is removed before its name is used again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from orchestrator.errors import PystackError
from orchestrator.state import containers as cstate

if TYPE_CHECKING:
    from orchestrator.reconcile.context import Context
    from orchestrator.reconcile.desired import PreStartPlan, ServicePlan
    from orchestrator.reconcile.threads import Gate
    from orchestrator.state.containers import ContainerRecord

MARK = "pre_start.done"  # in a container's directory: its hooks have run
OUTPUT_LINES = 3  # of a failed hook's output, in the error


class PreStartFailed(PystackError):
    """A pre_start hook exited non-zero (or could not run): the service's containers were not started."""


def runner_plan(plan: ServicePlan) -> ServicePlan:
    """A hook's plan as a one-shot container: nothing published, never restarted, no health check,
    no name or dependencies of the service's, no terminal or input of its own."""
    from orchestrator.reconcile.policy import RestartPolicy

    return dataclasses.replace(plan, ports=[], restart=RestartPolicy(), healthcheck=None, container_name=None,
                               scale=1, use_aliases=False, depends_on={}, after=[], made_after=[], tty=False,
                               stdin_open=False, pre_start=[])


def pending(ctx: Context, recs: Sequence[ContainerRecord]) -> list[ContainerRecord]:
    """The service containers among ``recs`` that have not run their hooks."""
    return [r for r in recs if not r.one_off and not (ctx.paths.container(r.id) / MARK).exists()]


def run_hooks(ctx: Context, project: str, service: str, hooks: Sequence[PreStartPlan],
              recs: Sequence[ContainerRecord], report: Callable[[str], None], ready: Gate | None = None) -> None:
    """Run ``service``'s ``hooks`` for the containers in ``recs`` about to start; raises
    :class:`PreStartFailed`."""
    if not hooks:
        return
    todo = pending(ctx, recs)
    if not todo:
        return
    fresh = {r.id for r in todo}
    replica_runs = any(r.service == service and not r.one_off and r.id not in fresh and r.status == "running"
                       for r in cstate.for_project(ctx.db(), project))
    for hook in hooks:
        if hook.per_replica:
            for rec in sorted(todo, key=lambda r: r.number):
                _run(ctx, project, service, hook, rec.number, report, ready)
        elif not replica_runs:
            _run(ctx, project, service, hook, None, report, ready)
    for rec in todo:
        (ctx.paths.container(rec.id) / MARK).touch()


def _run(ctx: Context, project: str, service: str, hook: PreStartPlan, number: int | None,
         report: Callable[[str], None], ready: Gate | None) -> None:
    from orchestrator.reconcile import lifecycle

    name = f"{project}-{service}-pre_start-{hook.index}" + (f"-{number}" if number is not None else "")
    stale = cstate.by_name(ctx.db(), name)
    if stale is not None:
        lifecycle.remove(ctx, stale, timeout=0, anonymous="delete")
    what = f"service {service}: pre_start[{hook.index}]"
    report(f"Container {name}  Creating (pre_start[{hook.index}] of {service})")
    rec = lifecycle.create(ctx, hook.plan, number or 1, one_off=True, name=name)
    try:
        if ready is not None:
            ready.wait()
        lifecycle.start(ctx, rec)
        report(f"Container {name}  Started")
        rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
        ended = rt.wait(rec.id)
        code = ended.code if ended is not None else 1
        output = _last_lines(ctx, rec)
    except PystackError as exc:
        raise PreStartFailed(f"{what} could not run: {exc}") from None
    finally:
        lifecycle.remove(ctx, rec, timeout=0, anonymous="delete")
    report(f"Container {name}  Exited ({code})")
    if code != 0:
        raise PreStartFailed(f"{what} exited with status {code}" + (f": {output}" if output else ""))


def _last_lines(ctx: Context, rec: ContainerRecord) -> str:
    from orchestrator.reconcile.lifecycle import LOG_NAME
    from orchestrator.reconcile.logs import read_records

    lines = [r.text.rstrip("\n") for r in read_records(ctx.paths.container(rec.id) / LOG_NAME)]
    return " / ".join(line for line in lines[-OUTPUT_LINES:] if line.strip())
