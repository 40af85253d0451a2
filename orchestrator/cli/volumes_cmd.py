"""``pystack volumes``: the stack's named volumes that exist on this host, as Compose's ``volumes``."""

from __future__ import annotations

import json

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions


@click.command(name="volumes")
@click.argument("services", nargs=-1)
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Format the output.")
@click.pass_obj
def volumes(opts: GlobalOptions, services: tuple[str, ...], quiet: bool, fmt: str) -> None:
    """List volumes (of the services given, or of the whole stack)."""
    from orchestrator.errors import PystackError
    from orchestrator.storage.volumes import list_volumes

    stack = proj.load(opts)
    unknown = [s for s in services if s not in stack.services]
    if unknown:
        raise PystackError(f"no such service: {', '.join(unknown)}")
    keys = set(stack.volumes)
    if services:
        keys = {m.source for s in services for m in stack.services[s].volumes if m.type == "volume" and m.source}
    present = set(list_volumes(proj.context(opts).paths))
    names = sorted(v.name for k, v in stack.volumes.items() if k in keys and v.name in present)
    if quiet:
        for n in names:
            click.echo(n)
    elif fmt == "json":
        click.echo(json.dumps([{"Driver": "local", "Name": n} for n in names]))
    else:
        click.echo(f"{'DRIVER':<10}VOLUME NAME")
        for n in names:
            click.echo(f"{'local':<10}{n}")
