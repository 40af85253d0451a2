"""Progress of pulls and pushes: plain lines when output is not a terminal, bars when it is.

The transfer code reports events (item, status, bytes done, bytes total); how they look is
decided here, so the registry client never writes to a terminal itself.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TextIO

DONE_STATES = ("done", "already exists", "pushed", "mounted", "failed")


class Progress:
    """Receives events; the base class ignores them (``--progress quiet``)."""

    def event(self, item: str, status: str, done: int = 0, total: int = 0) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def finish(self) -> None:
        pass


class LineProgress(Progress):
    """One line per status change, never per byte: readable in CI logs and pipes."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self._last: dict[str, str] = {}
        self._lock = threading.Lock()

    def event(self, item: str, status: str, done: int = 0, total: int = 0) -> None:
        with self._lock:
            if self._last.get(item) == status:
                return
            self._last[item] = status
            size = f" ({human(total)})" if total and status in ("done", "pushed") else ""
            self.write(f"{item}: {status}{size}")

    def message(self, text: str) -> None:
        with self._lock:
            self.write(text)


class BarProgress(Progress):
    """One redrawn bar per layer on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.rows: dict[str, tuple[str, int, int]] = {}
        self._drawn = 0
        self._lock = threading.Lock()

    def _render(self) -> None:
        if self._drawn:
            self.out.write(f"\x1b[{self._drawn}F")
        for item, (status, done, total) in self.rows.items():
            if total and status not in DONE_STATES:
                width = 30
                fill = int(width * done / total) if total else 0
                bar = "[" + "=" * fill + ">" + " " * (width - fill) + "]"
                line = f"{item}: {status} {bar} {human(done)}/{human(total)}"
            else:
                line = f"{item}: {status}"
            self.out.write("\x1b[2K" + line + "\n")
        self._drawn = len(self.rows)
        self.out.flush()

    def event(self, item: str, status: str, done: int = 0, total: int = 0) -> None:
        with self._lock:
            self.rows[item] = (status, done, total)
            self._render()

    def message(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self._drawn = 0
            self.rows.clear()
            self.out.flush()


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def make_progress(mode: str = "auto", out: TextIO | None = None) -> Progress:
    stream = out or sys.stderr
    if mode == "quiet":
        return Progress()
    if mode == "tty" or (mode == "auto" and stream.isatty()):
        return BarProgress(stream)
    return LineProgress(lambda s: print(s, file=stream, flush=True))


def as_progress(p: Progress | Callable[[str], None] | None) -> Progress:
    if p is None:
        return Progress()
    if isinstance(p, Progress):
        return p
    return LineProgress(p)
