"""One line to standard output or error, flushed at once, for the code that both click's path and
the click-free readers (``runtime_argv``, ``up_argv``) run: it must not import click."""

from __future__ import annotations

import sys


def echo(message: str, *, err: bool = False) -> None:
    """As ``click.echo`` prints a plain line: the text, a newline, and a flush (the line is seen
    before what a long wait that follows would delay)."""
    stream = sys.stderr if err else sys.stdout
    stream.write(message + "\n")
    stream.flush()
