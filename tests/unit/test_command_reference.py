"""docs/commands.md is generated from the CLI; it must match what the code says."""

from __future__ import annotations

from pathlib import Path

from orchestrator.cli.reference import render


def test_command_reference_is_up_to_date() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "commands.md"
    assert doc.read_text() == render(), "regenerate: python -m orchestrator.cli.reference > docs/commands.md"
