"""``pystack up``: converge the stack to the file, then follow it (foreground) or leave it to its supervisor."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from collections.abc import Iterator

    from orchestrator.reconcile.context import Context
    from orchestrator.reconcile.engine import Report
    from orchestrator.spec.models import Stack


def _parse_scale(values: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        name, sep, n = v.partition("=")
        if not sep or not n.isdigit():
            raise click.BadParameter(f"--scale expects SERVICE=NUM, got {v!r}")
        out[name] = int(n)
    return out


@click.command()
@click.argument("services", nargs=-1)
@click.option("-d", "--detach", is_flag=True, help="Run in the background.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option("--wait", is_flag=True, help="Wait for services to be running and healthy.")
@click.option("--wait-timeout", type=float, default=None)
@click.option("--force-recreate", is_flag=True)
@click.option("--no-recreate", is_flag=True)
@click.option("--no-deps", is_flag=True)
@click.option("--no-start", is_flag=True)
@click.option("--remove-orphans", is_flag=True)
@click.option("-V", "--renew-anon-volumes", "renew_anon", is_flag=True,
              help="Recreated containers start with new anonymous volumes rather than their predecessors'.")
@click.option("--scale", multiple=True, metavar="SERVICE=NUM")
@click.option("--build", "build", flag_value=True, default=None)
@click.option("--no-build", "build", flag_value=False)
@click.option("--pull", type=click.Choice(["always", "missing", "never"]), default="missing")
@click.option("--abort-on-container-exit", is_flag=True)
@click.option("--exit-code-from", default=None)
@click.option("-t", "--timeout", type=float, default=None, help="Shutdown timeout in seconds.")
@click.option("--no-color", is_flag=True)
@click.option("--no-log-prefix", is_flag=True)
@click.pass_obj
def up(opts: GlobalOptions, services: tuple[str, ...], detach: bool, dry_run: bool, wait: bool,
       wait_timeout: float | None, force_recreate: bool, no_recreate: bool, no_deps: bool, no_start: bool,
       remove_orphans: bool, renew_anon: bool, scale: tuple[str, ...], build: bool | None, pull: str,
       abort_on_container_exit: bool, exit_code_from: str | None, timeout: float | None, no_color: bool,
       no_log_prefix: bool) -> None:
    """Create and start the stack's containers."""
    if force_recreate and no_recreate:
        raise click.UsageError("--force-recreate and --no-recreate cannot be combined")
    stack = proj.load(opts, targets=services)
    ctx = proj.context(opts)
    with _network_service_first(ctx, stack, wanted=not dry_run and not no_start):
        from orchestrator.errors import PystackError
        from orchestrator.plan.planner import PlanOptions
        from orchestrator.reconcile import stack_ops, supervisor_client

        targets = tuple(services)
        if targets and no_deps:
            keep = set(targets)
        elif targets:
            from orchestrator.plan.order import closure, dependencies

            unknown = [t for t in targets if t not in stack.services]
            if unknown:
                raise PystackError(f"no such service: {', '.join(unknown)}")
            keep = closure(dependencies(stack), targets)
        else:
            keep = set(stack.services)
        report = proj.reporter(opts)
        up_opts = stack_ops.UpOptions(
            pull=pull, build=build, dry_run=dry_run, no_start=no_start, services=tuple(sorted(keep)),
            renew_anonymous=renew_anon,
            plan=PlanOptions(force_recreate=force_recreate, no_recreate=no_recreate, no_start=no_start,
                             remove_orphans=remove_orphans, scale=_parse_scale(scale)),
        )
        with proj.stack_lock(ctx.paths, stack.name):
            sp, plan = stack_ops.prepare(ctx, stack, up_opts, report)
            for w in plan.warnings:
                click.echo(f"WARN {w}", err=True)
            if dry_run:
                if plan.empty:
                    click.echo("nothing to do: the stack matches the file")
                for line in plan.describe():
                    click.echo(line)
                return
            config_files = [str(Path(f).resolve()) for f in opts.files] or [str(stack.working_dir)]
            with report:
                if plan.empty and not no_start:
                    # Nothing to create or start: no dependency waits (every container already runs
                    # as the file says), no network service to boot.
                    outcome = stack_ops.up_unchanged(ctx, stack, config_files)
                else:
                    stack_ops.spawn_network_service(ctx, stack.name, plan)
                    outcome = stack_ops.up(ctx, stack, sp, plan, up_opts, report, config_files)
                if not no_start:
                    supervisor_client.ensure(ctx.paths, stack.name, host_netns=ctx.host_netns)
                code = _wait(ctx, stack.name, sorted(keep), wait_timeout, report) if wait and outcome.ok else 0
    for name, why in {**outcome.failed, **outcome.skipped}.items():
        click.echo(f"service {name}: {why}", err=True)
    if not outcome.ok:
        sys.exit(1)
    if code:
        sys.exit(code)
    if detach or wait or no_start:
        return
    from orchestrator.cli.attach import Attacher

    attacher = Attacher(ctx, stack.name, sorted(keep), colour=proj.colour(opts, no_color), prefix=not no_log_prefix)
    code = attacher.follow(abort_on_exit=abort_on_container_exit or exit_code_from is not None,
                           exit_code_from=exit_code_from)
    click.echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
    try:
        attacher.while_running(lambda: _graceful_stop(ctx, stack, sp.order, timeout))
    except KeyboardInterrupt:
        _graceful_stop(ctx, stack, sp.order, 0)
    sys.exit(code)


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


def _wait(ctx: Context, project: str, services: list[str], timeout: float | None, report: Report) -> int:
    """``--wait``: poll the state the supervisor keeps until all run healthy (or completed), or one fails."""
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


def _graceful_stop(ctx: Context, stack: Stack, order: list[list[str]], timeout: float | None) -> None:
    from orchestrator.reconcile import engine
    from orchestrator.reconcile.stack_ops import stop_tiers
    from orchestrator.state import containers as cstate

    recs = [r for r in cstate.for_project(ctx.db(), stack.name, include_one_off=False)
            if r.status in ("running", "paused", "created")]
    tiers = stop_tiers(ctx, stack.name, order, recs)
    engine.stop_containers(ctx, tiers, timeout=timeout, report=lambda m: click.echo(m, err=True))


@click.command()
@click.argument("services", nargs=-1)
@click.option("--force-recreate", is_flag=True)
@click.option("--no-recreate", is_flag=True)
@click.option("--build", "build", flag_value=True, default=None)
@click.option("--no-build", "build", flag_value=False)
@click.option("--pull", type=click.Choice(["always", "missing", "never"]), default="missing")
@click.option("--remove-orphans", is_flag=True)
@click.option("-V", "--renew-anon-volumes", "renew_anon", is_flag=True,
              help="Recreated containers start with new anonymous volumes rather than their predecessors'.")
@click.option("--scale", multiple=True, metavar="SERVICE=NUM")
@click.pass_context
def create(click_ctx: click.Context, services: tuple[str, ...], force_recreate: bool, no_recreate: bool,
           build: bool | None, pull: str, remove_orphans: bool, renew_anon: bool, scale: tuple[str, ...]) -> None:
    """Create the stack's containers without starting them (``up --no-start``)."""
    click_ctx.invoke(up, services=services, detach=True, dry_run=False, wait=False, wait_timeout=None,
                     force_recreate=force_recreate, no_recreate=no_recreate, no_deps=False, no_start=True,
                     remove_orphans=remove_orphans, renew_anon=renew_anon, scale=scale, build=build, pull=pull,
                     abort_on_container_exit=False, exit_code_from=None, timeout=None, no_color=False,
                     no_log_prefix=False)
