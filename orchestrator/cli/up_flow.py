"""What ``up`` does once its command line is read, up to the point where a foreground ``up`` starts
following the logs: load the stack, plan, converge, hand the stack to its supervisor, wait.

It imports no click, so that both ways of reading ``up``'s command line run the same code: the
click command (:mod:`orchestrator.cli.up_cmd`, which adds the foreground part) and the click-free
reader of a detached ``up`` (:mod:`orchestrator.cli.up_argv`). Usage mistakes (incompatible flags,
a malformed ``--scale``) are refused by the readers before this runs.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.cli import project as proj
from orchestrator.cli.echo import echo
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from orchestrator.reconcile.context import Context
    from orchestrator.reconcile.engine import StackPlan
    from orchestrator.spec.models import Stack


@dataclass(frozen=True)
class UpRequest:
    """An ``up`` (or ``create``) as its flags ask for it, with the values they default to."""
    services: tuple[str, ...] = ()
    dry_run: bool = False
    wait: bool = False
    wait_timeout: float | None = None
    force_recreate: bool = False
    no_recreate: bool = False
    recreate_deps: bool = False
    no_deps: bool = False
    no_start: bool = False
    remove_orphans: bool = False
    renew_anon: bool = False
    scale: dict[str, int] = field(default_factory=dict)
    build: bool | None = None
    pull: str = "policy"
    quiet_pull: bool = False
    quiet_build: bool = False
    timeout: float | None = None
    attach: tuple[str, ...] = ()
    no_attach: tuple[str, ...] = ()
    exit_code_from: str | None = None


@dataclass
class Converged:
    """Where the stack stands after :func:`converge`: ``status`` is the exit status when the
    command is done (a dry run, a failure, a detached ``up``), None when a foreground ``up``
    goes on to follow the containers in ``keep``."""
    ctx: Context
    stack: Stack
    plan: StackPlan | None
    keep: set[str]
    status: int | None


def check_names(stack: Stack, flag: str, names: tuple[str, ...] | list[str]) -> None:
    from orchestrator.errors import PystackError

    unknown = [n for n in names if n not in stack.services]
    if unknown:
        raise PystackError(f"{flag}: no such service: {', '.join(unknown)}")


def converge(opts: GlobalOptions, req: UpRequest, *, detach: bool,
             on_loaded: Callable[[Stack], None] | None = None) -> Converged:
    """Bring the stack to its file (``on_loaded`` runs once the file is read, before anything
    changes: the foreground ``up --watch`` makes its watcher there)."""
    stack = proj.load(opts, targets=req.services)
    if on_loaded is not None:
        on_loaded(stack)
    check_names(stack, "--scale", list(req.scale))
    check_names(stack, "--attach", req.attach)
    check_names(stack, "--no-attach", req.no_attach)
    ctx = proj.context(opts)
    dry_run = req.dry_run or opts.dry_run
    with _network_service_first(ctx, stack, wanted=not dry_run and not req.no_start):
        from orchestrator.errors import PystackError
        from orchestrator.plan.planner import PlanOptions
        from orchestrator.reconcile import stack_ops, supervisor_client

        targets = tuple(req.services)
        if targets and req.no_deps:
            keep = set(targets)
        elif targets:
            from orchestrator.plan.order import closure, dependencies

            unknown = [t for t in targets if t not in stack.services]
            if unknown:
                raise PystackError(f"no such service: {', '.join(unknown)}")
            keep = closure(dependencies(stack), targets)
        else:
            keep = set(stack.services)
        if req.exit_code_from is not None and req.exit_code_from not in keep:
            raise PystackError(f"--exit-code-from {req.exit_code_from}: not a service this up starts")
        report = proj.reporter(opts)
        up_opts = stack_ops.UpOptions(
            pull=None if req.pull == "policy" else req.pull, build=req.build, dry_run=dry_run,
            no_start=req.no_start, services=tuple(sorted(keep)), renew_anonymous=req.renew_anon,
            stop_timeout=req.timeout, quiet_pull=req.quiet_pull, quiet_build=req.quiet_build,
            plan=PlanOptions(force_recreate=req.force_recreate, no_recreate=req.no_recreate, no_start=req.no_start,
                             remove_orphans=req.remove_orphans, scale=req.scale, recreate_deps=req.recreate_deps,
                             ignore_orphans=os.environ.get("COMPOSE_IGNORE_ORPHANS", "").strip().lower()
                             in ("1", "true", "yes", "on"),
                             selected=frozenset(targets) if targets else None),
        )
        with proj.stack_lock(ctx.paths, stack.name):
            sp, plan = stack_ops.prepare(ctx, stack, up_opts, report)
            for w in plan.warnings:
                echo(f"WARN {w}", err=True)
            if dry_run:
                if plan.empty:
                    echo("nothing to do: the stack matches the file")
                for line in plan.describe():
                    echo(line)
                return Converged(ctx, stack, None, keep, 0)
            config_files = stack.config_files or [str(Path(f).resolve()) for f in opts.files]
            with report:
                if plan.empty and not req.no_start:
                    # Nothing to create or start: no dependency waits (every container already runs
                    # as the file says), no network service to boot.
                    outcome = stack_ops.up_unchanged(ctx, stack, config_files)
                    from orchestrator.state import containers as cstate

                    for rec in cstate.for_project(ctx.db(), stack.name, include_one_off=False):
                        if rec.service in keep and rec.status == "running":  # as Compose says: all is well
                            report(f"Container {rec.name}  Running")
                else:
                    stack_ops.spawn_network_service(ctx, stack.name, plan)
                    outcome = stack_ops.up(ctx, stack, sp, plan, up_opts, report, config_files)
                if not req.no_start:
                    supervisor_client.ensure(ctx.paths, stack.name, host_netns=ctx.host_netns)
                code = wait_healthy(ctx, stack.name, sorted(keep), req.wait_timeout, report) \
                    if req.wait and outcome.ok else 0
    for name, why in {**outcome.failed, **outcome.skipped}.items():
        echo(why if why.startswith(f"service {name}: ") else f"service {name}: {why}", err=True)
    if not outcome.ok:
        return Converged(ctx, stack, sp, keep, 1)
    if code:
        return Converged(ctx, stack, sp, keep, code)
    return Converged(ctx, stack, sp, keep, 0 if detach or req.wait or req.no_start else None)


@contextlib.contextmanager
def _network_service_first(ctx: Context, stack: Stack, *, wanted: bool) -> Iterator[None]:
    """Start the stack's network service before anything else, when its containers will need one.
    Its boot (an interpreter and its imports, ~0.1 s) is what a container's start waits for: it
    then overlaps this command's own imports and planning. When ``up`` fails before the stack has
    any container (a port in use, an image missing), the copy started here has nothing to serve
    and is stopped again."""
    early = False
    if wanted and not all(svc.network_mode for svc in stack.services.values()):
        from orchestrator.network.service import spawn_service, spawned_here

        spawn_service(ctx.paths, stack.name, host_netns=ctx.host_netns)
        early = spawned_here(ctx.paths, stack.name)
    try:
        yield
    except BaseException:
        if early:
            with contextlib.suppress(Exception):  # the error that got here is the one to report
                from orchestrator.network.service import abandon
                from orchestrator.state import containers as cstate

                if not cstate.for_project(ctx.db(), stack.name):
                    abandon(ctx.paths, stack.name)
        raise


def wait_healthy(ctx: Context, project: str, services: list[str], timeout: float | None,
                 report: Callable[[str], None]) -> int:
    """``--wait`` (of ``up`` and ``start``): poll the state the supervisor keeps until all run
    healthy (or completed), or one fails."""
    from orchestrator.state import containers as cstate

    deadline = time.monotonic() + timeout if timeout else None
    waiting: set[str] = set()
    while True:
        recs = [r for r in cstate.for_project(ctx.db(), project, include_one_off=False) if r.service in services]
        bad = [r for r in recs if r.health == "unhealthy" or (r.status == "exited" and r.exit_code not in (0, None))]
        pending = [r for r in recs if (r.status == "running" and r.health == "starting") or r.status == "created"]
        for r in recs:
            if r in pending and r.name not in waiting:
                waiting.add(r.name)
                report(f"Container {r.name}  Waiting")
            elif r.name in waiting and r not in pending and r not in bad:
                waiting.discard(r.name)
                report(f"Container {r.name}  {'Healthy' if r.health == 'healthy' else 'Exited'}")
        if bad:
            for r in bad:
                report(f"Container {r.name}  Error: {r.health or f'exited with code {r.exit_code}'}")
            return 1
        if not pending:
            return 0
        if deadline is not None and time.monotonic() > deadline:
            for r in pending:
                report(f"Container {r.name}  Error: timed out waiting")
            return 1
        time.sleep(0.05)


