"""The SQLite state database: one file, WAL, shared by every stage.

Each stage owns its own tables and declares them with :func:`register_schema`; :func:`connect`
creates whatever is missing. Writes go through short ``with conn:`` transactions, so a crash
leaves either the old or the new row, never half of a multi-step change: callers record intent
(``status='creating'``) before acting and the outcome after, and the next run finishes or undoes
what it finds half done.
"""

from __future__ import annotations

import os
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


class _Connection(sqlite3.Connection):
    """A connection that knows the process-wide write lock of its database file."""

    write_lock: threading.RLock


_WRITE_LOCKS: dict[str, threading.RLock] = {}
_APPLIED: set[tuple[str, int, int, str]] = set()  # (file, device, inode, DDL) already applied here
BUSY_TIMEOUT = 30.0  # seconds, for the Python lock as for SQLite's own


def _write_lock(path: Path) -> threading.RLock:
    with _SCHEMAS_LOCK:
        lock = _WRITE_LOCKS.get(str(path))
    if lock is not None:
        return lock
    key = str(path.resolve())  # two spellings of one file share its lock
    with _SCHEMAS_LOCK:
        lock = _WRITE_LOCKS.get(key)
        if lock is None:
            lock = _WRITE_LOCKS[key] = threading.RLock()
        _WRITE_LOCKS[str(path)] = lock
        return lock


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False,
                           factory=_Connection)
    conn.write_lock = _write_lock(path)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    # Every worker thread opens its own connections (a command removing fifty containers opens a
    # hundred): the schemas are applied once per database file and process, not on every open.
    st = os.stat(path)
    fresh = conn.execute("PRAGMA schema_version").fetchone()[0] == 0  # a new file at a reused inode
    for ddl in _schemas():
        key = (str(path), st.st_dev, st.st_ino, ddl)
        if key in _APPLIED and not fresh:
            continue
        conn.executescript(ddl)
        with _SCHEMAS_LOCK:
            _APPLIED.add(key)
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """An immediate (write-locking) transaction, so concurrent commands serialize cleanly.

    Threads of one process first queue on a Python lock per database file: left to SQLite, a
    writer that finds the database locked sleeps in its busy handler (1, 2, 5 … 100 ms steps),
    and fifty threads removing containers at once spent most of ``down`` asleep there. Other
    processes still meet SQLite's own lock, which they rarely contend for.
    """
    lock: threading.RLock | None = getattr(conn, "write_lock", None)
    if lock is None:
        with _begin(conn):
            yield conn
        return
    if not lock.acquire(timeout=BUSY_TIMEOUT):
        raise sqlite3.OperationalError("database is locked (another thread of this process kept it)")
    try:
        with _begin(conn):
            yield conn
    finally:
        lock.release()


@contextmanager
def _begin(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
