"""``pystack alpha``: Compose's experimental commands, ``viz`` (a Graphviz graph of the stack),
``generate`` (a stack file from existing containers), ``dry-run -- COMMAND`` (the command under
the global ``--dry-run``) and ``publish`` under its older name."""

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


@alpha.command()
@click.argument("containers", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="Format the output. Values: [yaml | json]")
@click.option("--name", default=None, help="Project name to set in the Compose file")
@click.option("--project-dir", default=None, help="Directory to use for the project: paths below it are written "
                                                   "relative to it.")
@click.pass_obj
def generate(opts: GlobalOptions, containers: tuple[str, ...], fmt: str, name: str | None,
             project_dir: str | None) -> None:
    """EXPERIMENTAL - Generate a Compose file from existing containers.

    CONTAINERS are names (a part of one matches, as Docker's name filter) or id prefixes.
    """
    import os

    from orchestrator.cli import project as proj
    from orchestrator.cli.generate_render import Found
    from orchestrator.cli.generate_render import generate as render
    from orchestrator.errors import PystackError
    from orchestrator.spec.serialize import dump_json, dump_yaml, escape_interpolation, relative_paths
    from orchestrator.state import containers as cstate

    click.echo("generate command is EXPERIMENTAL", err=True)
    if not containers:
        raise PystackError("alpha generate: at least one container must be specified")
    records = cstate.every(proj.context(opts).db())
    chosen = [r for r in records if any(c in r.name or r.id.startswith(c) for c in containers)]
    if not chosen:
        raise PystackError(f"alpha generate: no container(s) found with the following name(s): {','.join(containers)}")
    doc, warnings = render([Found(r.name, r.project, r.service, r.one_off, r.image, r.spec) for r in chosen], name)
    for w in warnings:
        click.echo(f"WARN {w}", err=True)
    if project_dir:
        doc = relative_paths(doc, os.path.abspath(project_dir))
    doc = escape_interpolation(doc)
    click.echo(dump_json(doc) if fmt == "json" else dump_yaml(doc), nl=False)
