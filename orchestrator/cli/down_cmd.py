"""``pystack down``: stop and remove the stack's containers and networks (and volumes with ``-v``)."""

from __future__ import annotations

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions


@click.command()
@click.option("-v", "--volumes", is_flag=True, help="Remove the stack file's named volumes and all anonymous ones.")
@click.option("--rmi", type=click.Choice(["local", "all"]), default=None)
@click.option("--remove-orphans", is_flag=True)
@click.option("-t", "--timeout", type=float, default=None, help="Shutdown timeout in seconds.")
@click.pass_obj
def down(opts: GlobalOptions, volumes: bool, rmi: str | None, remove_orphans: bool, timeout: float | None) -> None:
    """Stop and remove containers, networks and (with -v) volumes."""
    from orchestrator.reconcile import stack_ops, translate

    name, stack = proj.project_name(opts)
    ctx = proj.context(opts)
    order = None
    vols: list[str] = []
    if stack is not None:
        from orchestrator.plan.order import generations

        order = generations(stack)
        vols = [v.name for v in stack.volumes.values() if not v.external]
    report = proj.reporter(opts)
    with proj.stack_lock(ctx.paths, name), report:
        stack_ops.down(ctx, name, order=order, timeout=timeout, volumes=vols, remove_volumes=volumes, report=report)
        if rmi and stack is not None:
            for svc in stack.services.values():
                if rmi == "all" or not svc.image:
                    ref = translate.image_ref(stack.name, svc)
                    if ctx.images.exists(ref):
                        ctx.images.remove(ref)
                        report(f"Image {ref}  Removed")
