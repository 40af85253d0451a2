"""Exits and events in the state database: an exit is recorded once, with one ``die`` event, by
whichever process sees it first; every event keeps its container's id, past the container's row."""

from __future__ import annotations

from pathlib import Path

from orchestrator.state import containers as cstate
from orchestrator.state import db


def _rec(cid: str, name: str, status: str = "running", started_at: float | None = 100.0) -> cstate.ContainerRecord:
    return cstate.ContainerRecord(id=cid, name=name, project="p", service="s", number=1, config_hash="h",
                                  status=status, started_at=started_at)


def test_an_exit_is_recorded_once_with_its_die_event(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "state.db")
    cstate.insert(conn, _rec("c1", "p-s-1"))
    assert cstate.record_exit(conn, "c1", exit_code=3, finished_at=101.0)
    assert not cstate.record_exit(conn, "c1", exit_code=3)  # a second observer: nothing more
    rec = cstate.get(conn, "c1")
    assert rec is not None and (rec.status, rec.exit_code, rec.finished_at) == ("exited", 3, 101.0)
    events = cstate.events_since(conn, "p", 0)
    assert [(e["action"], e["detail"], e["container"], e["container_id"]) for e in events] == [
        ("die", "exit 3", "p-s-1", "c1")]


def test_an_exit_of_an_older_run_or_of_a_created_container_is_not_recorded(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "state.db")
    cstate.insert(conn, _rec("c1", "p-s-1", started_at=200.0))
    assert not cstate.record_exit(conn, "c1", started_at=100.0, exit_code=1)  # a restart began since
    cstate.insert(conn, _rec("c2", "p-s-2", status="created", started_at=None))
    assert not cstate.record_exit(conn, "c2", exit_code=0)
    assert cstate.record_exit(conn, "c1", started_at=200.0, exit_code=1)
    assert [e["container_id"] for e in cstate.events_since(conn, "p", 0)] == ["c1"]


def test_the_remove_event_keeps_the_id_of_the_row_it_deletes(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "state.db")
    rec = _rec("c9", "p-s-9", status="exited")
    cstate.insert(conn, rec)
    cstate.add_event(conn, "p", "create", service="s", container="p-s-9", container_id="c9")
    cstate.add_event(conn, "p", "note", service="s")  # an event of no container
    cstate.forget_containers(conn, [rec])
    assert cstate.get(conn, "c9") is None
    got = [(e["action"], e["container_id"]) for e in cstate.events_since(conn, "p", 0)]
    assert got == [("create", "c9"), ("note", None), ("remove", "c9")]
    assert [e["action"] for e in cstate.events_since(conn, "p", 2)] == ["remove"]
