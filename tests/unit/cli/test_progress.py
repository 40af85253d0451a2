"""The progress sink: parsing the reconciler's reports, the live view's rows, and each output mode."""

from __future__ import annotations

import io
import json

from orchestrator.cli.progress import Board, Event, Progress, parse


def test_reports_split_into_kind_name_status_and_reason() -> None:
    assert parse("Container web-1  Creating (environment.DEBUG changed)") == Event(
        "Container", "web-1", "Creating", "environment.DEBUG changed")
    assert parse("Image pstest/x:1  Pulled") == Event("Image", "pstest/x:1", "Pulled")
    err = parse("Container db-1  Error while stopping: no such process")
    assert err.failed and not err.working and err.status == "Error while stopping: no such process"


def test_free_text_stays_whole() -> None:
    for msg in ("  api | Step 1/3 : FROM scratch", "Container", "Something else  entirely", "Container a b  X"):
        ev = parse(msg)
        assert ev.kind == "" and ev.status == msg


def test_board_keeps_one_row_per_object_and_times_it() -> None:
    board = Board()
    board.apply(parse("Container a-1  Creating (new)"), 10.0)
    board.apply(parse("Container b-1  Creating (new)"), 10.5)
    assert board.done == 0
    board.apply(parse("Container a-1  Created"), 11.0)
    board.apply(parse("Container a-1  Started"), 11.5)
    assert list(board.rows) == ["Container a-1", "Container b-1"]
    a = board.rows["Container a-1"]
    assert a.event.status == "Started" and board.elapsed(a, 99.0) == 1.5
    assert board.elapsed(board.rows["Container b-1"], 12.0) == 1.5  # still working: timed to now
    assert board.done == 1
    board.apply(parse("Container a-1  Stopping"), 20.0)  # work begins again: the clock restarts
    assert board.done == 0 and board.elapsed(board.rows["Container a-1"], 21.0) == 1.0


def test_plain_mode_prints_every_report_as_given() -> None:
    out = io.StringIO()
    with Progress("plain", stream=out) as p:
        p("Container a-1  Created")
        p("  a | building")
    assert out.getvalue() == "Container a-1  Created\n  a | building\n"


def test_auto_is_plain_when_not_a_terminal() -> None:
    assert Progress("auto", stream=io.StringIO()).mode == "plain"


def test_json_mode_gives_one_object_per_event() -> None:
    out = io.StringIO()
    p = Progress("json", stream=out)
    p("Container a-1  Recreating (image changed)")
    p("Container a-1  Error: boom")
    p("note")
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert docs[0]["id"] == "Container a-1" and docs[0]["status"] == "Recreating" and docs[0]["text"] == "image changed"
    assert docs[1]["error"] is True
    assert docs[2]["message"] == "note"


def test_quiet_mode_prints_nothing() -> None:
    out = io.StringIO()
    with Progress("quiet", stream=out) as p:
        p("Container a-1  Created")
    assert out.getvalue() == ""


def test_tty_mode_outside_the_live_view_marks_lines() -> None:
    out = io.StringIO()
    p = Progress("tty", stream=out)
    p("Container a-1  Started")
    p("Container a-1  Error: boom")
    p("Container a-1  Stopping")
    assert out.getvalue().splitlines() == [" ✔ Container a-1  Started", " ✘ Container a-1  Error: boom",
                                           " … Container a-1  Stopping"]


def test_tty_live_view_redraws_rows_in_place_and_ends_with_the_outcome() -> None:
    out = io.StringIO()
    with Progress("tty", title="Running", stream=out) as p:
        p("Container a-1  Creating (new service)")
        p("  a | a build line")
        p("Container a-1  Started")
        p("Container b-1  Started")
    text = out.getvalue()
    assert "\x1b[" in text  # drawn with cursor movement, not appended lines
    assert "a build line" in text
    final = text.rsplit("[+] Running", 1)[1]
    assert final.startswith(" 2/2")
    assert "✔" in final and "Container a-1" in final and "Started" in final and "Container b-1" in final
    assert "Creating" not in final
