"""``pystack scale SERVICE=REPLICAS...``: Compose's ``scale``, an ``up -d`` that changes only the
number of containers (existing ones are kept as they are, never recreated)."""

from __future__ import annotations

import click


@click.command(name="scale")
@click.argument("pairs", nargs=-1, required=True, metavar="SERVICE=REPLICAS...")
@click.option("--no-deps", is_flag=True, help="Don't start linked services.")
@click.pass_context
def scale(click_ctx: click.Context, pairs: tuple[str, ...], no_deps: bool) -> None:
    """Scale services."""
    from orchestrator.cli.up_cmd import parse_scale, up

    names = tuple(parse_scale(pairs, what="scale"))
    click_ctx.invoke(up, services=names, detach=True, no_recreate=True, no_deps=no_deps, scale=pairs)
