"""The global ``--dry-run``, as Compose's: a command shows the changes it would make and makes none.

``up`` and ``create`` print their plan, each action with its reason (``up --dry-run``). ``down``,
``start``, ``stop``, ``restart``, ``kill``, ``pause``, ``unpause`` and ``rm`` choose their containers
as they would for real and print one ``DRY-RUN MODE -`` line per change. Commands that only read
(``ps``, ``logs``, ``config`` ...) run as usual. Any other command is refused with that reason
rather than run for real: a dry run that changed something would be worse than none.
"""

from __future__ import annotations

import click

PLANNED = frozenset({"up", "create", "down", "start", "stop", "restart", "kill", "pause", "unpause", "rm"})
READ_ONLY = frozenset({"config", "graph", "images", "ps", "ls", "logs", "port", "top", "events", "version",
                       "volumes", "stats"})
PREFIX = "DRY-RUN MODE - "


def check(command: str | None) -> None:
    """Refuse a command that has no dry run and is not read-only."""
    if command is None or command in PLANNED or command in READ_ONLY:
        return
    raise click.UsageError(f"--dry-run: {command} has no dry run here (those of "
                           f"{', '.join(sorted(PLANNED))} print what they would change); nothing was done")


def say(change: str) -> None:
    """One change the command would make."""
    click.echo(PREFIX + change, err=True)
