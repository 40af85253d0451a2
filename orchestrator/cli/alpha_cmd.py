"""``pystack alpha``: Compose's experimental commands, ``viz`` (a Graphviz graph of the stack),
``dry-run -- COMMAND`` (the command under the global ``--dry-run``) and ``publish`` under its older
name."""

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


@alpha.command("dry-run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@click.pass_context
def dry_run(ctx: click.Context, command: tuple[str, ...]) -> None:
    """Dry run command allows you to test a command without applying changes.

    COMMAND is any pystack command with its arguments; it runs as it would under the global
    --dry-run: a command that changes something shows its changes and makes none.
    """
    from orchestrator.cli import dry_run as dry

    root = ctx.find_root()
    assert isinstance(root.command, click.Group)
    name, *args = command
    cmd = root.command.get_command(root, name)
    if cmd is None:
        raise click.UsageError(f"alpha dry-run: unknown command {name!r}")
    if isinstance(cmd, click.Group) or name == "alpha":
        raise click.UsageError(f"alpha dry-run: {name} has no dry run here; nothing was done")
    dry.check(name)
    opts = ctx.find_object(GlobalOptions)
    assert opts is not None
    opts.dry_run = True
    with cmd.make_context(name, list(args), parent=root) as sub:
        cmd.invoke(sub)
