"""Progress: plain lines change only with a layer's state, never per byte."""

from __future__ import annotations

import io

from orchestrator.images.progress import BarProgress, LineProgress, as_progress, human, make_progress


def test_plain_lines() -> None:
    lines: list[str] = []
    p = LineProgress(lines.append)
    p.event("abc", "downloading", 0, 2000)
    p.event("abc", "downloading", 1000, 2000)
    p.event("abc", "done", 2000, 2000)
    p.event("def", "already exists")
    assert lines == ["abc: downloading", "abc: done (2.0 kB)", "def: already exists"]
    assert isinstance(as_progress(lines.append), LineProgress)


def test_bars_and_mode_choice() -> None:
    out = io.StringIO()
    p = BarProgress(out)
    p.event("abc", "downloading", 500, 1000)
    p.event("abc", "done", 1000, 1000)
    text = out.getvalue()
    assert "[===============>" in text and "abc: done" in text
    assert isinstance(make_progress("auto", io.StringIO()), LineProgress)  # not a tty
    assert human(999) == "999 B" and human(1_500_000) == "1.5 MB"
