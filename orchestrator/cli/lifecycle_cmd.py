"""``start``, ``stop``, ``restart``, ``kill``, ``pause``, ``unpause``, ``rm``: one verb over selected containers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from orchestrator.images.model import Image
    from orchestrator.reconcile.context import Context
    from orchestrator.state.containers import ContainerRecord


def _targets(opts: GlobalOptions, services: tuple[str, ...], *,
             orphans: bool = True) -> tuple[Context, list[ContainerRecord]]:
    """The stack's containers (of ``services``, when named); without ``orphans``, only those of
    services the file defines (all of them when there is no file to tell)."""
    from orchestrator.reconcile.engine import observe

    name, stack = proj.project_name(opts)
    ctx = proj.context(opts)
    recs = observe(ctx, name)
    if not orphans and stack is not None:
        recs = [r for r in recs if r.service in stack.services]
    return ctx, _select(recs, services)


def _select(recs: Sequence[ContainerRecord], services: tuple[str, ...]) -> list[ContainerRecord]:
    if services:
        unknown = set(services) - {r.service for r in recs}
        if unknown:
            raise click.ClickException(f"no such service: {', '.join(sorted(unknown))}")
        return [r for r in recs if r.service in services]
    return list(recs)


def _rt_name(r: ContainerRecord) -> str | None:
    return None if r.runtime == "pystack" else r.runtime


def _each(recs: list[ContainerRecord], fn: Callable[[ContainerRecord], None]) -> None:
    """``fn`` on every container at once; the first failure is raised once all have finished."""
    from orchestrator.reconcile import threads

    errors = [done.error for done in threads.each(fn, recs) if done.error is not None]
    if errors:
        raise errors[0]


def _dry(opts: GlobalOptions, recs: Sequence[ContainerRecord], done: str) -> bool:
    """Under the global --dry-run, say what would happen to each of ``recs``; True: stop there."""
    if not opts.dry_run:
        return False
    from orchestrator.cli import dry_run

    for r in recs:
        dry_run.say(f"Container {r.name}  would be {done}")
    if not recs:
        dry_run.say("nothing to change")
    return True


def _pre_start(opts: GlobalOptions, ctx: Context, starting: list[ContainerRecord]) -> None:
    """The ``pre_start`` hooks of containers that have not run them (made by ``create`` or
    ``up --no-start``), as they were when the container was made; they need the stack file."""
    from orchestrator.reconcile import pre_start

    hooked = [r for r in pre_start.pending(ctx, starting) if (r.spec.get("service") or {}).get("pre_start")]
    if not hooked:
        return
    from orchestrator.errors import PystackError
    from orchestrator.reconcile import stack_ops

    _, stack = proj.project_name(opts)
    if stack is None:
        raise PystackError(f"start: {hooked[0].name} has pre_start hooks to run first, which need its stack file")
    for service in sorted({r.service for r in hooked}):
        mine = [r for r in hooked if r.service == service]
        hooks = mine[0].spec["service"]["pre_start"]

        def image_of(_index: int, hook: dict[str, Any], service: str = service) -> Image:
            return ctx.images.resolve(stack_ops.hook_image_ref(stack.name, service, hook))

        plans = stack_ops.hook_plans(stack, hooks, image_of)
        pre_start.run_hooks(ctx, stack.name, service, plans, mine, lambda m: click.echo(m, err=True))


@click.command()
@click.argument("services", nargs=-1)
@click.option("--wait", is_flag=True, help="Wait for services to be running|healthy. Implies detached mode.")
@click.option("--wait-timeout", type=float, default=None,
              help="Maximum duration in seconds to wait for the project to be running|healthy.")
@click.pass_obj
def start(opts: GlobalOptions, services: tuple[str, ...], wait: bool, wait_timeout: float | None) -> None:
    """Start existing containers (the donors of ipc and pid namespaces before their joiners)."""
    import sys

    from orchestrator.reconcile import isolation, lifecycle, service_hooks, supervisor_client

    ctx, recs = _targets(opts, services)
    starting = [r for r in recs if r.status != "running"]  # post_start: only for what this command starts
    if _dry(opts, starting, "started"):
        return
    _pre_start(opts, ctx, starting)
    for tier in isolation.donors_first(recs):
        _each(tier, lambda r: lifecycle.start(ctx, r))
    for r in recs:
        click.echo(f"Container {r.name}  Started", err=True)
    if recs:
        supervisor_client.ensure(ctx.paths, recs[0].project, host_netns=ctx.host_netns)
    _each(starting, lambda r: service_hooks.post_start(ctx, r))
    if wait and recs:
        from orchestrator.cli.up_flow import wait_healthy

        code = wait_healthy(ctx, recs[0].project, sorted({r.service for r in recs}), wait_timeout,
                            lambda m: click.echo(m, err=True))
        if code:
            sys.exit(code)


@click.command()
@click.argument("services", nargs=-1)
@click.option("-t", "--timeout", type=float, default=None, help="Specify a shutdown timeout in seconds.")
@click.pass_obj
def stop(opts: GlobalOptions, services: tuple[str, ...], timeout: float | None) -> None:
    """Stop running containers without removing them."""
    from orchestrator.reconcile import engine

    ctx, recs = _targets(opts, services)
    running = [r for r in recs if r.status in ("running", "paused", "created")]
    if _dry(opts, running, "stopped"):
        return
    kept = engine.stop_containers(ctx, [running], timeout=timeout, report=lambda m: click.echo(m, err=True))
    if kept:
        raise click.ClickException(f"not stopped (a pre_stop hook failed): {', '.join(kept)}")


@click.command()
@click.argument("services", nargs=-1)
@click.option("-t", "--timeout", type=float, default=None, help="Specify a shutdown timeout in seconds.")
@click.option("--no-deps", is_flag=True,
              help="Don't restart dependent services (those with depends_on: {SERVICE: {restart: true}}).")
@click.pass_obj
def restart(opts: GlobalOptions, services: tuple[str, ...], timeout: float | None, no_deps: bool) -> None:
    """Restart containers, and with SERVICES the services that depend on them with restart: true
    (each after what it depends on, and the donors of ipc and pid namespaces before their joiners)."""
    from orchestrator.reconcile import lifecycle, restart_scope, service_hooks, supervisor_client

    ctx, everything = _targets(opts, ())
    recs = _select(everything, services)
    if services and not no_deps:
        recs = restart_scope.with_dependents(everything, services)
    if _dry(opts, [r for tier in restart_scope.dependencies_first(recs) for r in tier], "restarted"):
        return

    def one(r: ContainerRecord) -> None:
        lifecycle.stop(ctx, r, timeout=timeout, report=lambda m: click.echo(m, err=True))
        lifecycle.start(ctx, r)
        click.echo(f"Container {r.name}  Restarted", err=True)

    from orchestrator.reconcile import threads

    failed: list[Exception] = []  # a pre_stop hook's: that container was not restarted; the others are
    restarted = []
    for tier in restart_scope.dependencies_first(recs):
        for done in threads.each(one, tier):
            if done.error is not None:
                failed.append(done.error)
            else:
                restarted.append(done.item)
    if recs:
        supervisor_client.ensure(ctx.paths, recs[0].project, host_netns=ctx.host_netns)
    _each(restarted, lambda r: service_hooks.post_start(ctx, r))
    if failed:
        raise failed[0]


@click.command()
@click.argument("services", nargs=-1)
@click.option("-s", "--signal", "sig", default="SIGKILL", show_default=True,
              help="SIGNAL to send to the container.")
@click.option("--remove-orphans", is_flag=True,
              help="Also signal containers of services the file no longer defines (as Compose's kill).")
@click.pass_obj
def kill(opts: GlobalOptions, services: tuple[str, ...], sig: str, remove_orphans: bool) -> None:
    """Send a signal to running containers (the restart policy still applies, as in Compose)."""
    from orchestrator.reconcile import lifecycle

    ctx, recs = _targets(opts, services, orphans=remove_orphans)
    num = lifecycle.signal_number(sig)
    if _dry(opts, [r for r in recs if r.status == "running"], f"sent {sig}"):
        return
    for r in recs:
        if r.status == "running":
            ctx.runtime(_rt_name(r)).kill(r.id, num)
            click.echo(f"Container {r.name}  Killed", err=True)


def _freezer(verb: str) -> click.Command:
    """``pause`` or ``unpause``. Like Compose, each touches only the containers it can change
    (running ones, paused ones), so a stack with an exited one-shot service still pauses."""
    summary = "Pause the stack's running containers (freezer)." if verb == "pause" else "Resume paused containers."

    @click.command(name=verb, help=summary)
    @click.argument("services", nargs=-1)
    @click.pass_obj
    def cmd(opts: GlobalOptions, services: tuple[str, ...]) -> None:
        from orchestrator.state import containers as cstate

        ctx, recs = _targets(opts, services)
        if _dry(opts, [r for r in recs if r.status == ("running" if verb == "pause" else "paused")], f"{verb}d"):
            return
        for r in recs:
            if r.status != ("running" if verb == "pause" else "paused"):
                continue
            rt = ctx.runtime(_rt_name(r))
            if verb == "pause":
                rt.pause(r.id)
                cstate.update(ctx.db(), r.id, status="paused")
            else:
                rt.resume(r.id)
                cstate.update(ctx.db(), r.id, status="running")
            click.echo(f"Container {r.name}  {'Paused' if verb == 'pause' else 'Unpaused'}", err=True)

    return cmd


pause = _freezer("pause")
unpause = _freezer("unpause")


@click.command()
@click.argument("services", nargs=-1)
@click.option("-f", "--force", is_flag=True, help="Don't ask to confirm removal.")
@click.option("-s", "--stop", "stop_first", is_flag=True, help="Stop the containers, if required, before removing.")
@click.option("-v", "--volumes", is_flag=True, help="Remove any anonymous volumes attached to containers.")
@click.pass_obj
def rm(opts: GlobalOptions, services: tuple[str, ...], force: bool, stop_first: bool, volumes: bool) -> None:
    """Removes stopped service containers.

    As in Compose, a running container is removed only with ``-s``; ``-f`` only skips the question,
    which is asked on a terminal (without one, as in a script, nothing is asked)."""
    import sys

    from orchestrator.reconcile import lifecycle

    ctx, recs = _targets(opts, services)
    victims = [r for r in recs if r.status not in ("running", "paused") or stop_first]
    if not victims:
        click.echo("No stopped containers", err=True)
        return
    if _dry(opts, victims, "removed" + (" with its anonymous volumes" if volumes else "")):
        return
    if not force and sys.stdin.isatty():
        click.echo(f"Going to remove {', '.join(r.name for r in victims)}", err=True)
        if not click.confirm("Are you sure?", default=False, err=True):
            return
    _each(victims, lambda r: lifecycle.remove(ctx, r, timeout=None, anonymous="delete" if volumes else "release"))
    for r in victims:
        click.echo(f"Container {r.name}  Removed", err=True)
