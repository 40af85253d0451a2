"""``pystack up``: converge the stack to the file, then follow it (foreground) or leave it to its supervisor."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any, TypeVar

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions
from orchestrator.cli.up_flow import UpRequest, converge

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from orchestrator.cli.watch_cmd import Watch
    from orchestrator.reconcile.context import Context
    from orchestrator.spec.models import Stack


def parse_scale(values: tuple[str, ...], what: str = "--scale") -> dict[str, int]:
    """``SERVICE=NUM`` pairs (of ``up --scale`` or of the ``scale`` command, named by ``what``)."""
    out: dict[str, int] = {}
    for v in values:
        name, sep, n = v.partition("=")
        if not sep or not name or not n.isdigit():
            raise click.BadParameter(f"{what} expects SERVICE=NUM, got {v!r}")
        out[name] = int(n)
    return out


def _check_flags(*, detach: bool, wait: bool, force_recreate: bool, no_recreate: bool, recreate_deps: bool,
                 aborting: bool, abort_on_failure: bool, abort_on_exit: bool) -> None:
    """The combinations Compose refuses, refused here too rather than one flag silently winning."""
    if force_recreate and no_recreate:
        raise click.UsageError("--force-recreate and --no-recreate are incompatible")
    if recreate_deps and no_recreate:
        raise click.UsageError("--always-recreate-deps and --no-recreate are incompatible")
    if abort_on_exit and abort_on_failure:
        raise click.UsageError("--abort-on-container-exit and --abort-on-container-failure are incompatible")
    if aborting and (detach or wait):
        raise click.UsageError(f"{'--wait' if wait else '-d'} is incompatible with --abort-on-container-exit, "
                               "--abort-on-container-failure and --exit-code-from")


def _attached(keep: set[str], targets: tuple[str, ...], attach: tuple[str, ...], no_attach: tuple[str, ...],
              attach_deps: bool) -> list[str]:
    """Whose output a foreground ``up`` prints: as Compose, the services named (their dependencies
    only with --attach-dependencies), or all; --attach chooses, --no-attach leaves some out."""
    if attach:
        chosen = set(attach)
    elif targets and not attach_deps:
        chosen = set(targets)
    else:
        chosen = set(keep)
    return sorted(chosen - set(no_attach))


_F = TypeVar("_F", bound="Callable[..., Any]")

# The flags that up and create share: what is recreated, which images, volumes and replicas.
_CREATE_OPTIONS = (
    click.option("--force-recreate", is_flag=True,
                 help="Recreate containers even if their configuration and image haven't changed."),
    click.option("--no-recreate", is_flag=True,
                 help="If containers already exist, don't recreate them. Incompatible with --force-recreate."),
    click.option("--remove-orphans", is_flag=True, envvar="COMPOSE_REMOVE_ORPHANS",
                 help="Remove containers for services not defined in the Compose file (also COMPOSE_REMOVE_ORPHANS)."),
    click.option("-V", "--renew-anon-volumes", "renew_anon", is_flag=True,
                 help="Recreated containers start with new anonymous volumes rather than their predecessors'."),
    click.option("--scale", multiple=True, metavar="SERVICE=NUM",
                 help="Scale SERVICE to NUM instances. Overrides the scale setting in the Compose file if present."),
    click.option("--build", "build", flag_value=True, default=None, help="Build images before starting containers."),
    click.option("--no-build", "build", flag_value=False, help="Don't build an image, even if it's missing."),
    click.option("--pull", type=click.Choice(["always", "missing", "never", "build", "policy"]), default="policy",
                 show_default=True,
                 help="Pull image before running; \"policy\" leaves it to each service's pull_policy."),
    click.option("--quiet-pull", is_flag=True, help="Pull without printing progress information."),
    click.option("--quiet-build", is_flag=True, help="Suppress the build output."),
)


def _create_options(f: _F) -> _F:
    """Declared once, so that ``create`` (``up --no-start``) cannot drift from ``up``."""
    for option in reversed(_CREATE_OPTIONS):
        f = option(f)
    return f


@click.command()
@click.argument("services", nargs=-1)
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run containers in the background.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option("--wait", is_flag=True, help="Wait for services to be running|healthy. Implies detached mode.")
@click.option("--wait-timeout", type=float, default=None,
              help="Maximum duration in seconds to wait for the project to be running|healthy.")
@_create_options
@click.option("--always-recreate-deps", "recreate_deps", is_flag=True,
              help="Recreate dependent containers. Incompatible with --no-recreate.")
@click.option("--no-deps", is_flag=True, help="Don't start linked services.")
@click.option("--no-start", is_flag=True, help="Don't start the services after creating them.")
@click.option("--abort-on-container-exit", "abort_on_exit", is_flag=True,
              help="Stops all containers if any container was stopped. Incompatible with -d.")
@click.option("--abort-on-container-failure", "abort_on_failure", is_flag=True,
              help="Stops all containers if any container exited with failure. Incompatible with -d.")
@click.option("--exit-code-from", default=None, metavar="SERVICE",
              help="Return the exit code of the selected service container. Implies --abort-on-container-exit.")
@click.option("--attach", multiple=True, metavar="SERVICE", help="Restrict attaching to the specified services.")
@click.option("--no-attach", multiple=True, metavar="SERVICE",
              help="Do not attach (stream logs) to the specified services.")
@click.option("--attach-dependencies", "attach_deps", is_flag=True,
              help="Automatically attach to log output of dependent services.")
@click.option("-t", "--timeout", type=float, default=None,
              help="Use this timeout in seconds for container shutdown when attached or when containers are "
                   "already running.")
@click.option("--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--no-color", is_flag=True, help="Produce monochrome output.")
@click.option("--no-log-prefix", is_flag=True, help="Don't print prefix in logs.")
@click.option("-y", "--yes", "assume_yes", is_flag=True,
              help='Assume "yes" as answer to all prompts and run non-interactively (up never asks).')
@click.option("-w", "--watch", "watch", is_flag=True,
              help="Watch the services' develop.watch paths and sync, restart or rebuild on changes.")
@click.option("--menu/--no-menu", default=None,
              help="Enable interactive shortcuts when running attached (d detach, w toggle watch). "
                   "Incompatible with --detach. Also set by COMPOSE_MENU.")
@click.pass_obj
def up(opts: GlobalOptions, services: tuple[str, ...], detach: bool, dry_run: bool, wait: bool,
       wait_timeout: float | None, force_recreate: bool, no_recreate: bool, recreate_deps: bool, no_deps: bool,
       no_start: bool, remove_orphans: bool, renew_anon: bool, scale: tuple[str, ...], build: bool | None, pull: str,
       quiet_pull: bool, quiet_build: bool, abort_on_exit: bool, abort_on_failure: bool, exit_code_from: str | None,
       attach: tuple[str, ...], no_attach: tuple[str, ...], attach_deps: bool, timeout: float | None,
       timestamps: bool, no_color: bool, no_log_prefix: bool, assume_yes: bool, watch: bool,
       menu: bool | None) -> None:
    """Create and start the stack's containers."""
    # -y answers Compose's one prompt, "recreate this volume whose definition changed?". pystack
    # never asks it: such a change recreates the containers that mount the volume, as any change
    # does (translate._volume_definitions). Accepted so that scripts written for Compose run.
    del assume_yes
    dry_run = dry_run or opts.dry_run
    aborting = abort_on_exit or abort_on_failure or exit_code_from is not None
    _check_flags(detach=detach, wait=wait, force_recreate=force_recreate, no_recreate=no_recreate,
                 recreate_deps=recreate_deps, aborting=aborting, abort_on_failure=abort_on_failure,
                 abort_on_exit=abort_on_exit or exit_code_from is not None)
    if watch and (detach or wait or dry_run or no_start):
        raise click.UsageError("--watch follows the stack in the foreground: it cannot be used with -d, --wait, "
                               "--dry-run or --no-start (run `pystack watch` beside a detached stack)")
    if menu and (detach or wait):
        raise click.UsageError("--menu gives shortcuts while up follows the logs: it cannot be used with -d or --wait")
    watcher: Watch | None = None

    def make_watcher(stack: Stack) -> None:  # before anything starts: a stack with nothing to watch is refused
        nonlocal watcher
        if watch:
            from orchestrator.cli.watch_cmd import Watch

            watcher = Watch(opts, proj.context(opts), stack, services)

    req = UpRequest(
        services=tuple(services), dry_run=dry_run, wait=wait, wait_timeout=wait_timeout,
        force_recreate=force_recreate, no_recreate=no_recreate, recreate_deps=recreate_deps, no_deps=no_deps,
        no_start=no_start, remove_orphans=remove_orphans, renew_anon=renew_anon, scale=parse_scale(scale),
        build=build, pull=pull, quiet_pull=quiet_pull, quiet_build=quiet_build, timeout=timeout, attach=attach,
        no_attach=no_attach, exit_code_from=exit_code_from)
    done = converge(opts, req, detach=detach, on_loaded=make_watcher)
    if done.status is not None:
        if done.status:
            sys.exit(done.status)
        return
    ctx, stack, keep, targets = done.ctx, done.stack, done.keep, req.services
    assert done.plan is not None
    sp = done.plan
    from orchestrator.cli.attach import Attacher

    attacher = Attacher(ctx, stack.name, _attached(keep, targets, attach, no_attach, attach_deps),
                        colour=proj.colour(opts, no_color), prefix=not no_log_prefix, timestamps=timestamps,
                        watched=sorted(keep))
    from orchestrator.cli import menu as shortcuts

    keys = shortcuts.wanted(menu, os.environ) and os.isatty(0) and os.isatty(1)
    runner = _WatchThread(lambda: _new_watch(opts, ctx, stack, services))
    with contextlib.ExitStack() as scope:
        if watcher is not None:
            runner.start(watcher)
        scope.callback(runner.stop)
        tick = None
        if keys:
            board = scope.enter_context(shortcuts.Menu(0))
            click.echo(shortcuts.BAR, err=True)
            tick = lambda: _on_key(board.key(), runner)  # noqa: E731
        code = attacher.follow(abort_on_exit=abort_on_exit or exit_code_from is not None,
                               abort_on_failure=abort_on_failure, exit_code_from=exit_code_from, tick=tick)
    if attacher.detached:
        click.echo("Detached: the containers keep running", err=True)
        return
    if attacher.all_exited:  # nothing left running to stop
        sys.exit(code)
    click.echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
    try:
        attacher.while_running(lambda: _graceful_stop(ctx, stack, sp.order, timeout))
    except KeyboardInterrupt:
        _graceful_stop(ctx, stack, sp.order, 0)
    sys.exit(code)


def _new_watch(opts: GlobalOptions, ctx: Context, stack: Stack, services: tuple[str, ...]) -> Watch:
    from orchestrator.cli.watch_cmd import Watch

    return Watch(opts, ctx, stack, services)


READY_WAIT = 30.0  # seconds at most for a watch to have its paths watched (a large tree takes a while)


class _WatchThread:
    """``up``'s watch, run in a thread beside the logs: ``--watch`` starts it at once, the menu's
    ``w`` turns it on and off (a fresh watch each time, with its initial sync)."""

    def __init__(self, make: Callable[[], Watch]) -> None:
        self._make = make
        self._watch: Watch | None = None
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._watch is not None

    def start(self, w: Watch | None = None) -> None:
        """Start the watch and return once its paths are watched (or it failed): a file saved after
        this is seen."""
        import threading

        w = w if w is not None else self._make()
        watching = threading.Event()

        def run() -> None:
            try:
                w.run(ready=watching.set)
            except Exception as exc:  # shown, and the logs go on: the stack itself is fine
                click.echo(f"watch stopped: {exc}", err=True)
            finally:
                watching.set()

        w.initial_sync()
        self._watch = w
        self._thread = threading.Thread(target=run, name="watch", daemon=True)
        self._thread.start()
        watching.wait(READY_WAIT)

    def stop(self) -> None:
        if self._watch is None:
            return
        self._watch.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._watch.close()
        self._watch = self._thread = None


def _on_key(key: str | None, runner: _WatchThread) -> bool:
    """One menu key: True to stop following (``d``, detach)."""
    from orchestrator.errors import PystackError

    if key in ("d", "D"):
        return True
    if key in ("w", "W"):
        if runner.active:
            runner.stop()
            click.echo("Watch disabled", err=True)
        else:
            try:
                runner.start()
            except PystackError as exc:
                click.echo(f"watch: {exc}", err=True)
            else:
                click.echo("Watch enabled", err=True)
    return False


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
@_create_options
@click.pass_context
def create(click_ctx: click.Context, services: tuple[str, ...], force_recreate: bool, no_recreate: bool,
           build: bool | None, pull: str, quiet_pull: bool, quiet_build: bool, remove_orphans: bool,
           renew_anon: bool, scale: tuple[str, ...]) -> None:
    """Create the stack's containers without starting them (``up --no-start``)."""
    click_ctx.invoke(up, services=services, detach=True, no_start=True, force_recreate=force_recreate,
                     no_recreate=no_recreate, remove_orphans=remove_orphans, renew_anon=renew_anon, scale=scale,
                     build=build, pull=pull, quiet_pull=quiet_pull, quiet_build=quiet_build)
