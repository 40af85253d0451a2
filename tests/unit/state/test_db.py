"""The state database's schema registry under concurrent use."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from orchestrator.state import db


class _RegistersWhileConnecting:
    """A connection whose DDL step registers another stage's schema, as a lazy import in another thread does."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self._real = real
        self._done = False

    def executescript(self, sql: str) -> Any:
        if not self._done:
            self._done = True
            db.register_schema("pstest_late_stage", "CREATE TABLE IF NOT EXISTS pstest_late (x INTEGER);")
        return self._real.executescript(sql)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._real, name, value)


def test_a_schema_registered_during_connect_does_not_break_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = sqlite3.connect
    monkeypatch.setattr(db.sqlite3, "connect", lambda *a, **k: _RegistersWhileConnecting(real_connect(*a, **k)))
    monkeypatch.setattr(db, "_SCHEMAS", {"pstest_first": "CREATE TABLE IF NOT EXISTS pstest_first (x INTEGER);"})
    conn = db.connect(tmp_path / "state.db")  # iterating the live dict here raised "changed size during iteration"
    conn.close()
    monkeypatch.setattr(db.sqlite3, "connect", real_connect)
    again = db.connect(tmp_path / "state.db")
    tables = {r[0] for r in again.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    again.close()
    assert {"pstest_first", "pstest_late"} <= tables  # the late stage's tables exist for the next connection
