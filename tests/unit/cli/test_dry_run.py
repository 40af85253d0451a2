"""The global --dry-run: which commands plan, which only read, and that the rest are refused."""

from __future__ import annotations

import click
import pytest

from orchestrator.cli import dry_run
from orchestrator.cli.main import COMMANDS


def test_every_named_command_exists() -> None:
    assert set(COMMANDS) >= (dry_run.PLANNED | dry_run.READ_ONLY)
    assert not dry_run.PLANNED & dry_run.READ_ONLY


def test_commands_without_a_dry_run_are_refused() -> None:
    for name in ("up", "down", "ps", "logs", "config", None):
        dry_run.check(name)
    refused = sorted(set(COMMANDS) - dry_run.PLANNED - dry_run.READ_ONLY)
    assert {"run", "exec", "cp", "build", "pull", "push", "scale", "runtime", "image", "network", "watch",
            "commit", "export", "attach", "wait"} <= set(refused)
    for name in refused:
        with pytest.raises(click.UsageError, match=f"--dry-run: {name} has no dry run here"):
            dry_run.check(name)
