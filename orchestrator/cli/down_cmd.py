"""``pystack down``: stop and remove the stack's containers and networks (and volumes with ``-v``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from collections.abc import Sequence

    from orchestrator.reconcile.context import Context
    from orchestrator.reconcile.engine import Report
    from orchestrator.spec.models import Stack
    from orchestrator.state.containers import ContainerRecord


@click.command()
@click.argument("services", nargs=-1)
@click.option("-v", "--volumes", is_flag=True, help="Remove the stack file's named volumes and all anonymous ones.")
@click.option("--rmi", type=click.Choice(["local", "all"]), default=None,
              help="Remove images used by services. \"local\" remove only images that don't have a custom tag.")
@click.option("--remove-orphans", is_flag=True, envvar="COMPOSE_REMOVE_ORPHANS",
              help="Remove containers for services not defined in the Compose file (always done here).")
@click.option("-t", "--timeout", type=float, default=None, help="Shutdown timeout in seconds.")
@click.pass_obj
def down(opts: GlobalOptions, services: tuple[str, ...], volumes: bool, rmi: str | None, remove_orphans: bool,
         timeout: float | None) -> None:
    """Stop and remove containers, networks and (with -v) volumes.

    With SERVICES, only their containers (and their anonymous volumes with -v): the networks and
    named volumes stay for the rest of the stack."""
    from orchestrator.reconcile import stack_ops

    name, stack = proj.project_name(opts)
    ctx = proj.context(opts)
    order = None
    vols: list[str] = []
    if stack is not None:
        from orchestrator.plan.order import generations

        order = generations(stack)
        vols = [v.name for v in stack.volumes.values() if not v.external]
    if opts.dry_run:
        _dry_run(ctx, name, stack, services, volumes=volumes, rmi=rmi, named_volumes=vols)
        return
    report = proj.reporter(opts)
    with proj.stack_lock(ctx.paths, name), report:
        if services:
            known = set(stack.services) if stack is not None else set()
            _down_services(ctx, name, services, known, order, timeout, volumes, report)
        else:
            stack_ops.down(ctx, name, order=order, timeout=timeout, volumes=vols, remove_volumes=volumes,
                           report=report)
        for ref in _images_to_remove(ctx, stack, services, rmi):
            ctx.images.remove(ref)
            report(f"Image {ref}  Removed")


def _images_to_remove(ctx: Context, stack: Stack | None, services: tuple[str, ...], rmi: str | None) -> list[str]:
    """``--rmi``: the stored images of the (named) services, all of them or only those built here."""
    from orchestrator.reconcile import translate

    if not rmi or stack is None:
        return []
    refs = [translate.image_ref(stack.name, svc) for svc in stack.services.values()
            if (not services or svc.name in services) and (rmi == "all" or not svc.image)]
    return [ref for ref in refs if ctx.images.exists(ref)]


def _chosen(recs: Sequence[ContainerRecord], services: tuple[str, ...], known: set[str]) -> list[ContainerRecord]:
    """The containers of ``services`` (one-offs too); a name neither the file nor a container has is an error."""
    from orchestrator.errors import PystackError

    unknown = sorted(set(services) - known - {r.service for r in recs})
    if unknown:
        raise PystackError(f"no such service: {', '.join(unknown)}")
    return [r for r in recs if r.service in services]


def _dry_run(ctx: Context, project: str, stack: Stack | None, services: tuple[str, ...], *, volumes: bool,
             rmi: str | None, named_volumes: Sequence[str]) -> None:
    """What down would remove, chosen as down chooses it (cli/dry_run.py)."""
    from orchestrator.cli.dry_run import say
    from orchestrator.state import containers as cstate

    recs = cstate.for_project(ctx.db(), project)
    if services:
        recs = _chosen(recs, services, set(stack.services) if stack is not None else set())
    for r in recs:
        live = r.status in ("running", "paused", "created")
        say(f"Container {r.name}  would be {'stopped and removed' if live else 'removed'}"
            + (" with its anonymous volumes" if volumes else ""))
    if not services:
        for net in ctx.network.list_networks(project):
            say(f"Network {net.name}  would be removed")
        if volumes:
            from orchestrator.storage.volumes import list_volumes

            present = set(list_volumes(ctx.paths))
            for vol in named_volumes:
                if vol in present:
                    say(f"Volume {vol}  would be removed")
    for ref in _images_to_remove(ctx, stack, services, rmi):
        say(f"Image {ref}  would be removed")


def _down_services(ctx: Context, project: str, services: tuple[str, ...], known: set[str],
                   order: Sequence[Sequence[str]] | None, timeout: float | None, volumes: bool,
                   report: Report) -> None:
    """The named services' containers, one-off ones too: dependants stopped first, then removed."""
    from orchestrator.errors import PystackError
    from orchestrator.reconcile import engine, lifecycle, stack_ops, threads
    from orchestrator.state import containers as cstate

    recs = _chosen(cstate.for_project(ctx.db(), project), services, known)
    live = [r for r in recs if r.status in ("running", "paused", "created")]
    kept = engine.stop_containers(ctx, stack_ops.stop_tiers(ctx, project, order, live), timeout=timeout,
                                  report=report)
    if kept:
        raise PystackError(f"down: a pre_stop hook kept {', '.join(kept)} running; nothing was removed "
                           "(down -t 0 runs no hooks)")
    failed = []
    for done in threads.each(
            lambda r: lifecycle.remove(ctx, r, timeout=0, anonymous="delete" if volumes else "release"), recs):
        if done.error is not None:
            failed.append(done.item.name)
            report(f"Container {done.item.name}  Error: {done.error}")
        else:
            report(f"Container {done.item.name}  Removed")
    if failed:
        raise PystackError(f"could not remove {', '.join(failed)}")
