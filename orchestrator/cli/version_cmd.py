"""``pystack version``: the version, without importing anything heavy."""

from __future__ import annotations

import platform

import click

from orchestrator import __version__


@click.command()
@click.option("--short", is_flag=True, help="Shows only the version number.")
@click.option("-f", "--format", "fmt", type=click.Choice(["pretty", "json"]), default="pretty", show_default=True,
              help="Format the output.")
def version(short: bool, fmt: str) -> None:
    """Show the pystack version."""
    if short:
        click.echo(__version__)
    elif fmt == "json":
        import json

        click.echo(json.dumps({"version": __version__}))
    else:
        click.echo(f"pystack version {__version__} (Python {platform.python_version()})")
