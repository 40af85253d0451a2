"""Log records are read across rotation, followed from an offset, and printed aligned."""

from __future__ import annotations

import io
import json
from pathlib import Path

from orchestrator.reconcile.logs import Follower, LogRecord, Printer, read_records


def rec(text: str) -> str:
    return json.dumps({"time": "2026-01-01T00:00:00.000000001Z", "stream": "stdout", "log": text}) + "\n"


def test_read_across_rotation_and_follow(tmp_path: Path) -> None:
    live = tmp_path / "log.json"
    (tmp_path / "log.json.2").write_text(rec("one\n"))
    (tmp_path / "log.json.1").write_text(rec("two\n"))
    live.write_text(rec("three\n"))
    assert [r.text for r in read_records(live)] == ["one\n", "two\n", "three\n"]

    f = Follower(live, from_end=True)
    assert f.poll() == []
    with open(live, "a") as fh:
        fh.write(rec("four\n") + rec("fi")[:10])
    assert [r.text for r in f.poll()] == ["four\n"]
    with open(live, "a") as fh:
        fh.write(rec("fi")[10:])
    assert [r.text for r in f.poll()] == ["fi"]
    live.unlink()
    live.write_text(rec("after rotation\n"))
    assert [r.text for r in f.poll()] == ["after rotation\n"]


def test_a_read_up_to_an_offset_stops_there_in_the_live_file_only(tmp_path: Path) -> None:
    """Where a follower made before the read starts: what comes after is the follower's to show."""
    live = tmp_path / "log.json"
    (tmp_path / "log.json.1").write_text(rec("rotated\n") * 2)
    live.write_text(rec("a\n") + rec("b\n"))
    offset = live.stat().st_size
    with open(live, "a") as fh:
        fh.write(rec("after\n"))
    assert [r.text for r in read_records(live, upto=offset)] == ["rotated\n", "rotated\n", "a\n", "b\n"]
    assert [r.text for r in read_records(live, upto=len(rec("a\n")))] == ["rotated\n", "rotated\n", "a\n"]
    assert [r.text for r in read_records(live)][-1] == "after\n"


def test_printer_aligns_prefixes() -> None:
    out = io.StringIO()
    p = Printer(["web-1", "worker-1"], colour=False, out=out)
    p.write("web-1", LogRecord("t", "stdout", "hi\n"))
    assert out.getvalue() == "web-1    | hi\n"
