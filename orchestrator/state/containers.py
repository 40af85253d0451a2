"""What the orchestrator knows about each container and stack, in the state database.

A container row is written *before* the kernel work starts (``status='creating'``) and updated
after each step, so a crash at any point leaves a row that says how far it got; the next ``up`` or
``down`` observes the kernel and finishes or undoes it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.state.db import register_schema, transaction

register_schema(
    "containers",
    """
    CREATE TABLE IF NOT EXISTS stacks (
        project TEXT PRIMARY KEY,
        working_dir TEXT NOT NULL,
        config_files TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'running',
        updated_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        project TEXT NOT NULL,
        service TEXT NOT NULL,
        number INTEGER NOT NULL,
        one_off INTEGER NOT NULL DEFAULT 0,
        config_hash TEXT NOT NULL,
        image TEXT NOT NULL DEFAULT '',
        image_id TEXT NOT NULL DEFAULT '',
        runtime TEXT NOT NULL DEFAULT 'pystack',
        status TEXT NOT NULL,
        desired TEXT NOT NULL DEFAULT 'running',
        netns TEXT,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        exit_code INTEGER,
        oom_killed INTEGER NOT NULL DEFAULT 0,
        restart_count INTEGER NOT NULL DEFAULT 0,
        health TEXT,
        health_log TEXT NOT NULL DEFAULT '[]',
        spec TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX IF NOT EXISTS containers_project ON containers(project, service);
    CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL,
        project TEXT NOT NULL,
        service TEXT,
        container TEXT,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    -- the id of an event's container (kept apart so that databases made before it need no migration)
    CREATE TABLE IF NOT EXISTS event_containers (
        seq INTEGER PRIMARY KEY REFERENCES events(seq) ON DELETE CASCADE,
        container_id TEXT NOT NULL
    );
    """,
)

STATUSES = ("creating", "created", "running", "paused", "exited", "removing")


@dataclass
class ContainerRecord:
    """A container as the state database stores it: what ``ps`` shows and what the planner compares."""
    id: str
    name: str
    project: str
    service: str
    number: int
    config_hash: str
    status: str
    one_off: bool = False
    image: str = ""
    image_id: str = ""
    runtime: str = "pystack"
    desired: str = "running"
    netns: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    restart_count: int = 0
    health: str | None = None
    health_log: list[dict[str, Any]] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ContainerRecord:
        d = dict(row)
        d["one_off"] = bool(d["one_off"])
        d["oom_killed"] = bool(d["oom_killed"])
        d["health_log"] = json.loads(d["health_log"] or "[]")
        d["spec"] = json.loads(d["spec"] or "{}")
        return cls(**d)


_COLUMNS = tuple(ContainerRecord.__dataclass_fields__)


def insert(conn: sqlite3.Connection, rec: ContainerRecord) -> None:
    values = []
    for c in _COLUMNS:
        v = getattr(rec, c)
        if c in ("health_log", "spec"):
            v = json.dumps(v)
        elif isinstance(v, bool):
            v = int(v)
        values.append(v)
    with transaction(conn):
        conn.execute(
            f"INSERT INTO containers ({','.join(_COLUMNS)}) VALUES ({','.join('?' * len(_COLUMNS))})", values
        )


def update(conn: sqlite3.Connection, container_id: str, **changes: Any) -> None:
    if not changes:
        return
    sets, values = [], []
    for k, v in changes.items():
        if k not in _COLUMNS:
            raise KeyError(k)
        if k in ("health_log", "spec"):
            v = json.dumps(v)
        elif isinstance(v, bool):
            v = int(v)
        sets.append(f"{k}=?")
        values.append(v)
    values.append(container_id)
    with transaction(conn):
        conn.execute(f"UPDATE containers SET {','.join(sets)} WHERE id=?", values)


_UNSET = object()


def record_exit(conn: sqlite3.Connection, container_id: str, *, started_at: Any = _UNSET, **changes: Any) -> bool:
    """``status='exited'`` plus ``changes`` for a container whose row says it runs (or is paused),
    and its ``die`` event (``exit N``), in one transaction: whichever process sees an exit first
    records it, once. False when the row already said exited, or (with ``started_at``) a new run
    of the container has begun since."""
    sets: list[str] = ["status=?"]
    values: list[Any] = ["exited"]
    for k, v in changes.items():
        if k not in _COLUMNS or k in ("health_log", "spec"):
            raise KeyError(k)
        sets.append(f"{k}=?")
        values.append(int(v) if isinstance(v, bool) else v)
    where = "id=? AND status IN ('running', 'paused')"
    values.append(container_id)
    if started_at is not _UNSET:
        where += " AND started_at IS ?"
        values.append(started_at)
    with transaction(conn):
        if conn.execute(f"UPDATE containers SET {','.join(sets)} WHERE {where}", values).rowcount == 0:
            return False
        row = conn.execute("SELECT project, service, name, exit_code FROM containers WHERE id=?",
                           (container_id,)).fetchone()
        code = row["exit_code"]
        _insert_event(conn, time.time(), row["project"], "die", row["service"], row["name"],
                      f"exit {code if code is not None else -1}", container_id)
    return True


def delete(conn: sqlite3.Connection, container_id: str) -> None:
    with transaction(conn):
        conn.execute("DELETE FROM containers WHERE id=?", (container_id,))


def want_stopped(conn: sqlite3.Connection, container_id: str) -> None:
    """Record desired "stopped", unless a removal has begun: its desired "removed" must outlive the
    stop that comes before the removal, so that an ``up`` after a ``down`` killed midway recreates
    the container (its links may be gone already) instead of starting it again."""
    with transaction(conn):
        conn.execute("UPDATE containers SET desired='stopped' WHERE id=? AND desired<>'removed'", (container_id,))


def mark_removing(conn: sqlite3.Connection, container_ids: Sequence[str]) -> None:
    """What ``update(status="removing", desired="removed")`` records, for many containers in one transaction."""
    with transaction(conn):
        conn.executemany("UPDATE containers SET status='removing', desired='removed' WHERE id=?",
                         [(i,) for i in container_ids])


def forget_containers(conn: sqlite3.Connection, records: Sequence[ContainerRecord]) -> None:
    """The rows of removed containers and a ``remove`` event for each, in one transaction."""
    if not records:
        return
    now = time.time()
    with transaction(conn):
        conn.executemany("DELETE FROM containers WHERE id=?", [(r.id,) for r in records])
        for r in records:
            _insert_event(conn, now, r.project, "remove", r.service, r.name, "", r.id)


def get(conn: sqlite3.Connection, container_id: str) -> ContainerRecord | None:
    row = conn.execute("SELECT * FROM containers WHERE id=?", (container_id,)).fetchone()
    return ContainerRecord.from_row(row) if row else None


def by_name(conn: sqlite3.Connection, name: str) -> ContainerRecord | None:
    row = conn.execute("SELECT * FROM containers WHERE name=?", (name,)).fetchone()
    return ContainerRecord.from_row(row) if row else None


def for_project(conn: sqlite3.Connection, project: str, *, include_one_off: bool = True) -> list[ContainerRecord]:
    q = "SELECT * FROM containers WHERE project=?"
    if not include_one_off:
        q += " AND one_off=0"
    rows = conn.execute(q + " ORDER BY service, number", (project,)).fetchall()
    return [ContainerRecord.from_row(r) for r in rows]


def every(conn: sqlite3.Connection) -> list[ContainerRecord]:
    """Every container of every project, by name."""
    rows = conn.execute("SELECT * FROM containers ORDER BY name").fetchall()
    return [ContainerRecord.from_row(r) for r in rows]


def record_stack(conn: sqlite3.Connection, project: str, working_dir: str, config_files: list[str]) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO stacks(project, working_dir, config_files, status, updated_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT(project) DO UPDATE SET working_dir=excluded.working_dir, "
            "config_files=excluded.config_files, updated_at=excluded.updated_at",
            (project, working_dir, json.dumps(config_files), "running", time.time()),
        )


def forget_stack(conn: sqlite3.Connection, project: str) -> None:
    with transaction(conn):
        conn.execute("DELETE FROM stacks WHERE project=?", (project,))


def stacks(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    out = []
    for r in conn.execute("SELECT * FROM stacks ORDER BY project"):
        d = dict(r)
        d["config_files"] = json.loads(d["config_files"])
        out.append(d)
    return out


def _insert_event(conn: sqlite3.Connection, when: float, project: str, action: str, service: str | None,
                  container: str | None, detail: str, container_id: str | None) -> None:
    cur = conn.execute("INSERT INTO events(time, project, service, container, action, detail) VALUES (?,?,?,?,?,?)",
                       (when, project, service, container, action, detail))
    if container_id:
        conn.execute("INSERT INTO event_containers(seq, container_id) VALUES (?,?)", (cur.lastrowid, container_id))


def add_event(
    conn: sqlite3.Connection, project: str, action: str, *, service: str | None = None,
    container: str | None = None, detail: str = "", container_id: str | None = None,
) -> None:
    with transaction(conn):
        _insert_event(conn, time.time(), project, action, service, container, detail, container_id)


def events_since(conn: sqlite3.Connection, project: str, seq: int) -> list[dict[str, Any]]:
    """The project's events after ``seq``, oldest first; ``container_id`` is None for an event recorded
    before ids were (or one of no container)."""
    rows = conn.execute("SELECT e.*, c.container_id FROM events e LEFT JOIN event_containers c ON c.seq = e.seq "
                        "WHERE e.project=? AND e.seq>? ORDER BY e.seq", (project, seq))
    return [dict(r) for r in rows]


def resume_if_stopping(conn: sqlite3.Connection, container_id: str) -> bool:
    """Set desired back to running for a container still running under an abandoned stop.

    Conditional in one statement: a stop that finishes meanwhile records ``exited`` first, and
    that row is then left alone (its container is not to be restarted).
    """
    with transaction(conn):
        cur = conn.execute(
            "UPDATE containers SET desired='running' WHERE id=? AND desired='stopped' AND status='running'",
            (container_id,),
        )
    return cur.rowcount == 1
