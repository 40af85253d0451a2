"""Fixtures shared by the command line's unit tests."""

from __future__ import annotations

import pytest

# the variables click reads for the group's options and for --remove-orphans
CLICK_VARIABLES = ("PYSTACK_ROOT", "COMPOSE_ANSI", "COMPOSE_PROGRESS", "COMPOSE_COMPATIBILITY",
                   "COMPOSE_PARALLEL_LIMIT", "COMPOSE_REMOVE_ORPHANS", "COMPOSE_FILE")


@pytest.fixture
def no_click_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of them set, so that a reader and click are compared on the command line alone."""
    for name in CLICK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
