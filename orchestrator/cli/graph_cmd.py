"""``pystack graph``: the dependency graph as a tree, Graphviz dot, Mermaid, or an SVG via ``dot``."""

from __future__ import annotations

import click

from orchestrator.cli.options import GlobalOptions


@click.command()
@click.argument("services", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["tree", "dot", "mermaid", "svg"]), default="tree",
              show_default=True, help="Format the output.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to a file.")
@click.pass_obj
def graph(opts: GlobalOptions, services: tuple[str, ...], fmt: str, output: str | None) -> None:
    """Show how services depend on each other."""
    from orchestrator.cli.graph_render import render_dot, render_mermaid, render_svg, render_tree
    from orchestrator.cli.stack_loading import load_stack_for
    from orchestrator.errors import PystackError
    from orchestrator.plan.graph import dependency_graph

    stack = load_stack_for(opts, services)
    g = dependency_graph(stack)
    if services:
        import networkx as nx

        keep = set(services)
        for name in services:
            keep |= nx.descendants(g, name)
        g = g.subgraph(keep)
    if fmt == "svg":
        if not output:
            raise PystackError("--format svg needs -o FILE")
        render_svg(g, stack.name, output)
        return
    text = {"tree": render_tree, "dot": render_dot, "mermaid": render_mermaid}[fmt](g, stack.name)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise PystackError(f"cannot write {output}: {exc.strerror}") from None
    else:
        click.echo(text, nl=False)
