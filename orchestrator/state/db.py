"""The SQLite state database: one file, WAL, shared by every stage.

Each stage owns its own tables and declares them with :func:`register_schema`; :func:`connect`
creates whatever is missing. Writes go through short ``with conn:`` transactions, so a crash
leaves either the old or the new row, never half of a multi-step change: callers record intent
(``status='creating'``) before acting and the outcome after, and the next run finishes or undoes
what it finds half done.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SCHEMAS: dict[str, str] = {}
# Stages register on import, and imports happen lazily in worker threads (the first ``remove`` in a
# thread imports the image store) while another thread may be inside :func:`connect`.
_SCHEMAS_LOCK = threading.Lock()


def register_schema(name: str, ddl: str) -> None:
    """Declare a stage's tables (``CREATE TABLE IF NOT EXISTS ...``); idempotent."""
    with _SCHEMAS_LOCK:
        _SCHEMAS[name] = ddl


def _schemas() -> list[str]:
    with _SCHEMAS_LOCK:
        return list(_SCHEMAS.values())


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    for ddl in _schemas():
        conn.executescript(ddl)
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """An immediate (write-locking) transaction, so concurrent commands serialize cleanly."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
