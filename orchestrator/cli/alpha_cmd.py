"""``pystack alpha``: Compose's experimental commands, ``viz`` (a Graphviz graph of the stack) and
``publish`` under its older name."""

from __future__ import annotations

import click

from orchestrator.cli.options import GlobalOptions
from orchestrator.cli.publish_cmd import publish


@click.group()
def alpha() -> None:
    """Experimental commands."""


@alpha.command()
@click.option("--image", is_flag=True, help="Include service's image name in output graph.")
@click.option("--indentation-size", type=int, default=1, show_default=True,
              help="Number of tabs or spaces to use for indentation.")
@click.option("--networks", is_flag=True, help="Include service's attached networks in output graph.")
@click.option("--ports", is_flag=True, help="Include service's exposed ports in output graph.")
@click.option("--spaces", is_flag=True, help="Indent with spaces rather than tabs.")
@click.pass_obj
def viz(opts: GlobalOptions, image: bool, indentation_size: int, networks: bool, ports: bool, spaces: bool) -> None:
    """Generate a graphviz graph from your compose file."""
    from orchestrator.cli.stack_loading import load_stack_for
    from orchestrator.cli.viz_render import VizOptions, indentation, render_viz
    from orchestrator.errors import PystackError

    try:
        indent = indentation(indentation_size, spaces)
    except ValueError as exc:
        raise PystackError(f"alpha viz: {exc}") from None
    click.echo("viz command is EXPERIMENTAL", err=True)
    stack = load_stack_for(opts, models=True)
    click.echo(render_viz(stack, VizOptions(networks=networks, ports=ports, image=image, indent=indent)), nl=False)


alpha.add_command(publish)
