"""The reconciler: networks, volumes and images first, then the plan in dependency order.

Each service's task waits for its dependencies' conditions (started, healthy, completed
successfully), then runs that service's actions with its containers in parallel. Stopping goes
the other way, dependants first, with one shared deadline so that PID 1s that ignore SIGTERM cost
one grace period in total rather than one per tier.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import PystackError
from orchestrator.plan.model import Action, Dependency, DesiredService, ObservedContainer, Plan
from orchestrator.plan.planner import PlanOptions, make_plan
from orchestrator.reconcile import threads
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.desired import RunInfo, ServicePlan
from orchestrator.reconcile.parallel import Outcome, describe, run_in_order
from orchestrator.reconcile.threads import Gate
from orchestrator.state import containers as cstate
from orchestrator.state.containers import ContainerRecord

ORDER_WINDOW = 2.0  # how long a tier may take to exit before the next tier is asked to stop
EXIT_RECORD_WAIT = 2.0  # how long a look waits for a monitor that is writing down an exit it just saw


@dataclass
class StackPlan:
    """A stack as the engine needs it: services, their order, networks and volumes."""

    project: str
    services: dict[str, ServicePlan]
    order: list[list[str]]
    networks: list[object] = field(default_factory=list)  # network driver NetworkSpec objects
    volumes: list[str] = field(default_factory=list)  # full volume names
    working_dir: str = ""
    config_files: list[str] = field(default_factory=list)
    # every service the file defines, those a profile leaves out too: the rest are orphans
    defined: frozenset[str] = frozenset()


Report = Callable[[str], None]


def observe(ctx: Context, project: str, *, one_off: bool = False) -> list[ContainerRecord]:
    """Records checked against the runtime: a 'running' record whose process is gone is 'exited',
    with the exit code its monitor recorded. ``one_off``: the containers of ``run`` too, whose
    command writes their exit itself unless it was killed first."""
    recs = cstate.for_project(ctx.db(), project, include_one_off=one_off)
    for rec in recs:
        if rec.status in ("running", "paused", "created"):
            try:
                rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
                st = rt.state(rec.id)
            except PystackError:
                rec.status = "creating"  # the runtime lost it: treat as half made
                continue
            if st.status == "stopped" and rec.status != "exited":
                rec.status = "exited"
                changes: dict[str, object] = {}
                ended = rt.exit_status(rec.id)
                if ended is None:  # PID 1 is gone and its monitor is writing its exit down this instant
                    with contextlib.suppress(PystackError):
                        ended = rt.wait(rec.id, EXIT_RECORD_WAIT)
                if ended is not None:
                    rec.exit_code, rec.oom_killed, rec.finished_at = ended.code, ended.oom_killed, ended.finished_at
                    changes.update(exit_code=ended.code, oom_killed=ended.oom_killed, finished_at=ended.finished_at)
                if not cstate.record_exit(ctx.db(), rec.id, **changes):  # with its die event, unless it was
                    cstate.update(ctx.db(), rec.id, status="exited", **changes)  # only created, never run
    return recs


def plan_for(ctx: Context, sp: StackPlan, options: PlanOptions, targets: Sequence[str] = ()) -> Plan:
    desired = [
        DesiredService(
            name, s.config_hash, s.scale,
            tuple(_dependency(d, v) for d, v in s.depends_on.items()),
            spec=s.spec,
        )
        for name, s in sp.services.items()
    ]
    recs = observe(ctx, sp.project)
    for r in recs:
        # up wants the stack running: a container left running by a stop that was killed midway
        # gets its restart policy back (the row said "stopped", so the supervisor let it die).
        # The row is looked at first: an up with nothing to do never imports the lifecycle.
        if r.status == "running" and r.desired == "stopped":
            from orchestrator.reconcile.lifecycle import stop_abandoned

            if stop_abandoned(ctx, r) and cstate.resume_if_stopping(ctx.db(), r.id):
                r.desired = "running"
    # A row whose removal has begun is planned as left "removing" whatever its status since (a
    # down killed after the stop that precedes the removal): it is recreated, never started again.
    observed = [
        ObservedContainer(r.id, r.name, r.service, r.number, r.config_hash,
                          "removing" if r.desired == "removed" else r.status, r.spec.get("service") or {})
        for r in recs
    ]
    return make_plan(sp.project, desired, observed, sp.order, options, defined=sp.defined)


def _dependency(name: str, v: dict[str, Any]) -> Dependency:
    return Dependency(name, str(v.get("condition", "service_started")), bool(v.get("required", True)),
                      bool(v.get("restart", False)))


def _wait_condition(ctx: Context, sp: StackPlan, dep: str, condition: str, report: Report) -> None:
    from orchestrator.reconcile import health

    recs = [r for r in cstate.for_project(ctx.db(), sp.project, include_one_off=False) if r.service == dep]
    dep_plan = sp.services[dep]
    if condition == "service_healthy":
        if dep_plan.healthcheck is None or dep_plan.healthcheck.disabled:
            raise PystackError(f"dependency {dep} has no health check, but service_healthy was asked for")
        for rec in recs:
            if rec.health != "healthy":
                report(f"Container {rec.name}  Waiting")
                try:
                    health.wait_healthy(ctx, rec, dep_plan.healthcheck, service=dep)
                except PystackError as exc:
                    report(f"Container {rec.name}  Error: {exc}")
                    raise
                report(f"Container {rec.name}  Healthy")
    elif condition == "service_completed_successfully":
        for rec in recs:
            report(f"Container {rec.name}  Waiting")
            rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
            status = rt.wait(rec.id, None)
            if status is None or status.code != 0:
                code = status.code if status else "?"
                report(f"Container {rec.name}  Error: exited with code {code}")
                raise PystackError(f"dependency {dep} did not complete successfully: exit {code}")
            report(f"Container {rec.name}  Exited")


def execute(ctx: Context, sp: StackPlan, plan: Plan, report: Report, *, start: bool = True,
            ready: Gate | None = None, renew_anonymous: bool = False, stop_timeout: float | None = None) -> Outcome:
    """Run the plan, in threads (see :mod:`orchestrator.reconcile.threads`).

    A service's containers are made as soon as the services whose namespaces or volumes they use
    have theirs (all at once for most stacks, as Compose makes them all first); each is started
    once its own are made and its dependencies have started (and meet their conditions). With
    ``ready``, starts also wait for it to open (the stack's network service is then answering DNS
    and holding its ports). ``stop_timeout`` (``up -t``) replaces each service's stop_grace_period
    for the running containers that a recreate or a scale-down stops."""
    involved = [n for gen in sp.order for n in gen if n in sp.services]
    made: dict[str, list[ContainerRecord]] = {}
    steps: list[str] = []
    deps: dict[str, list[str]] = {}
    for name in involved:
        svc = sp.services[name]
        steps.append(f"make:{name}")
        deps[f"make:{name}"] = [f"make:{d}" for d in svc.made_after if d in sp.services]
        if start:
            steps.append(f"start:{name}")
            deps[f"start:{name}"] = [f"make:{name}", *(f"start:{d}" for d in svc.after if d in sp.services)]

    def step(item: str) -> None:
        phase, name = item.split(":", 1)
        svc = sp.services[name]
        if phase == "make":
            made[name] = _all(threads.each(lambda a: _make(ctx, svc, a, report, renew_anonymous, stop_timeout),
                                               plan.for_service(name)))
            return
        for dep, cond in svc.depends_on.items():
            if dep in sp.services:
                _wait_condition(ctx, sp, dep, str(cond.get("condition", "service_started")), report)
        if svc.pre_start:
            from orchestrator.reconcile import pre_start

            pre_start.run_hooks(ctx, svc.project, name, svc.pre_start, made.get(name, []), report, ready)
        _all(threads.each(lambda rec: _start(ctx, svc, rec, report, ready), made.get(name, [])))

    _remove_orphans(ctx, sp, plan, report, stop_timeout)
    steps_outcome = run_in_order(steps, deps, step)
    outcome = Outcome()
    for item, why in steps_outcome.failed.items():
        outcome.failed.setdefault(item.split(":", 1)[1], why)
    for item, why in steps_outcome.skipped.items():
        name = item.split(":", 1)[1]
        if name not in outcome.failed and name not in outcome.skipped:
            outcome.skipped[name] = why.replace("dependency make:", "dependency ").replace("dependency start:",
                                                                                          "dependency ")
    outcome.done = [n for n in involved if n not in outcome.failed and n not in outcome.skipped]
    return outcome


def _all(outcomes: Iterable[threads.Done[Any, ContainerRecord | None]]) -> list[ContainerRecord]:
    """The records of a service's containers made (or to start); the first failure once all ended."""
    recs: list[ContainerRecord] = []
    errors: list[Exception] = []
    for done in outcomes:
        if done.error is not None:
            errors.append(done.error)
        elif done.result is not None:
            recs.append(done.result)
    if errors:
        raise errors[0]
    return recs


def _make(ctx: Context, svc: ServicePlan, action: Action, report: Report,
          renew_anonymous: bool = False, stop_timeout: float | None = None) -> ContainerRecord | None:
    """One action's part before any start: the old container removed, the new one made. Returns the
    container the action will start, if any. A recreated container's anonymous volumes stay where
    its replacement takes them over; a container removed for good leaves them behind."""
    from orchestrator.reconcile import lifecycle

    label = action.container_name or svc.container_name_for(action.number)
    if action.kind in ("remove", "recreate") and action.container_id:
        old = cstate.get(ctx.db(), action.container_id)
        if old is not None:
            report(f"Container {old.name}  Removing ({action.reason})")
            lifecycle.remove(ctx, old, timeout=stop_timeout,
                             anonymous="keep" if action.kind == "recreate" else "release", report=report)
            report(f"Container {old.name}  Removed")
        if action.kind == "remove":
            return None
    if action.kind in ("create", "recreate"):
        report(f"Container {label}  Creating ({action.reason})")
        rec = lifecycle.create(ctx, svc, action.number, renew_anonymous=renew_anonymous)
        report(f"Container {label}  Created")
        return rec
    if action.kind == "start" and action.container_id:
        return cstate.get(ctx.db(), action.container_id)
    return None


def _remove_orphans(ctx: Context, sp: StackPlan, plan: Plan, report: Report, stop_timeout: float | None) -> None:
    """``up --remove-orphans``: the containers of services the file no longer defines go first."""
    from orchestrator.reconcile import lifecycle

    orphans = [a for a in plan.actions if a.kind == "remove" and a.service not in sp.services and a.container_id]
    for action in orphans:
        old = cstate.get(ctx.db(), action.container_id or "")
        if old is not None:
            report(f"Container {old.name}  Removing ({action.reason})")
            lifecycle.remove(ctx, old, timeout=stop_timeout, report=report)
            report(f"Container {old.name}  Removed")


def _start(ctx: Context, svc: ServicePlan, rec: ContainerRecord, report: Report, ready: Gate | None) -> None:
    from orchestrator.reconcile import lifecycle

    if ready is not None:
        ready.wait()
    lifecycle.start(ctx, rec)
    report(f"Container {rec.name}  Started")
    from orchestrator.reconcile import service_hooks

    service_hooks.post_start(ctx, rec)  # a failure fails the service, as in Compose; the container runs on


def stop_containers(ctx: Context, tiers: Sequence[Sequence[ContainerRecord]], *,
                    timeout: float | None, report: Report) -> list[str]:
    """Dependants first; every container gets its grace period from one shared start time.

    Returns the names of the containers a failing pre_stop hook kept running; the tiers after
    theirs (what they depend on) are then not stopped either. Blocking, in threads: the commands
    that stop containers need no event loop for it."""
    from orchestrator.reconcile import lifecycle, service_hooks

    t0 = time.monotonic()
    pending: list[tuple[ContainerRecord, float, bool]] = []

    def grace_of(rec: ContainerRecord) -> float:
        return timeout if timeout is not None else RunInfo.from_record_spec(rec.spec).stop_grace_period

    aborted: list[str] = []
    for tier in tiers:
        if aborted:
            break
        hooked = [r for r in tier if r.status == "running" and service_hooks.hooks_of(r, "pre_stop")]
        if hooked:  # right before the tier's stop, in parallel; its grace (and later tiers') counts from after them
            began = time.monotonic()
            for ran in threads.each(lambda r: service_hooks.pre_stop(ctx, r, grace_of(r)), hooked):
                for note in ran.result or []:
                    report(note)
                if ran.error is not None:
                    report(f"Container {ran.item.name}  Error: {describe(ran.error)}")
                    aborted.append(ran.item.name)
            t0 += time.monotonic() - began
        signalled = []
        for rec in tier:
            if rec.name in aborted:
                continue
            info = RunInfo.from_record_spec(rec.spec)
            grace = grace_of(rec)
            sig = lifecycle.stop_signal_for(grace, info.stop_signal)
            if lifecycle.send_stop(ctx, rec, sig):
                report(f"Container {rec.name}  Stopping")
                signalled.append(rec)
                pending.append((rec, t0 + grace, sig == "SIGKILL"))
        if signalled:
            # the next tier is asked once this one has exited, or after a short window at most
            window = min(ORDER_WINDOW, max(0.0, min(d for _, d, _ in pending) - time.monotonic()))
            end = time.monotonic() + window
            for rec in signalled:
                left = end - time.monotonic()
                if left <= 0:
                    break
                ctx.runtime(None if rec.runtime == "pystack" else rec.runtime).wait(rec.id, left)
    # The threads only wait; each exit is recorded here, as it comes, on this thread's connection.
    # Recorded from the threads, fifty exits opened fifty connections and queued on the write lock.
    for done in threads.each(lambda p: lifecycle.await_exit(ctx, p[0], p[1], killed=p[2]), pending):
        rec = done.item[0]
        if done.error is not None:  # reported; removal (which kills the cgroup) still follows
            report(f"Container {rec.name}  Error while stopping: {describe(done.error)}")
            continue
        try:
            lifecycle.record_stop(ctx, rec, done.result)
        except Exception as exc:  # as a failure in the thread was: reported, and the others go on
            report(f"Container {rec.name}  Error while stopping: {describe(exc)}")
        else:
            report(f"Container {rec.name}  Stopped")
    return aborted
