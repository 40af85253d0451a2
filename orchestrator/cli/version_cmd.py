"""``pystack version``: the version, without importing anything heavy."""

from __future__ import annotations

import platform

import click

from orchestrator import __version__


@click.command()
@click.option("--short", is_flag=True, help="Print only the version number.")
def version(short: bool) -> None:
    """Show the pystack version."""
    if short:
        click.echo(__version__)
    else:
        click.echo(f"pystack version {__version__} (Python {platform.python_version()})")
