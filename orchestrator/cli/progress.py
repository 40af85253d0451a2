"""Progress of a stack command as Compose shows it: a live view on a terminal, plain lines otherwise.

The reconciler only ever reports strings of the form ``"<Kind> <name>  <Status>[ (<reason>)]"``
(``"Container web-1  Creating (new service)"``); this module turns them into rows keyed by kind and
name, so a terminal sees one line per object whose status changes in place, while logs, CI and
``--progress json`` keep every event.  The live view is drawn by rich, which already handles
terminal width, redraw and output printed while it is showing; it is imported only for a terminal.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

KINDS = frozenset({"Container", "Image", "Network", "Volume", "Service"})
#: Statuses that mean work is still going on for the row; anything else is an outcome.
WORKING = frozenset({"Creating", "Starting", "Stopping", "Removing", "Pulling", "Building", "Waiting",
                     "Recreating", "Restarting", "Killing", "Pausing"})


@dataclass(frozen=True)
class Event:
    """One parsed report: ``kind`` is empty for free text (build output, notes)."""

    kind: str
    name: str
    status: str
    reason: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def working(self) -> bool:
        return self.status in WORKING

    @property
    def failed(self) -> bool:
        return self.status.startswith("Error")


def parse(msg: str) -> Event:
    """Split a report; text that is not of the reconciler's form stays whole in ``status``."""
    kind, _, rest = msg.partition(" ")
    name, sep, status = rest.partition("  ")
    if kind not in KINDS or not sep or not name or " " in name:
        return Event("", "", msg)
    status = status.strip()
    reason = ""
    if status.endswith(")") and " (" in status:
        status, _, reason = status.partition(" (")
        reason = reason[:-1]
    return Event(kind, name, status, reason)


@dataclass
class Row:
    """One progress line and how long its step has taken so far."""
    event: Event
    started: float
    ended: float | None = None


@dataclass
class Board:
    """The rows of the live view, in first-seen order; pure, so it is tested without a terminal."""

    rows: dict[str, Row] = field(default_factory=dict)

    def apply(self, ev: Event, now: float) -> None:
        row = self.rows.get(ev.key)
        if row is None or (row.ended is not None and ev.working):
            row = self.rows[ev.key] = Row(ev, now)
        row.event = ev
        row.ended = None if ev.working else now

    @property
    def done(self) -> int:
        return sum(1 for r in self.rows.values() if r.ended is not None)

    def elapsed(self, row: Row, now: float) -> float:
        return (row.ended if row.ended is not None else now) - row.started


class Progress:
    """Callable report sink; as a context manager it shows the live view while the work runs.

    Outside a ``with`` block (or when the mode is not ``tty``) each report is one line, so callers
    that print other output in between stay readable.
    """

    def __init__(self, mode: str, title: str = "Running", stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "tty" if self.stream.isatty() else "plain"
        self.mode = mode
        self.title = title
        self.board = Board()
        self._live: Any = None
        # rich redraws from its own thread while reports arrive from the reconciler's
        self._lock = threading.Lock()

    def __call__(self, msg: str) -> None:
        if self.mode == "quiet":
            return
        ev = parse(msg)
        now = time.monotonic()
        if self.mode == "json":
            doc: dict[str, Any] = {"time": time.time()}
            doc.update({"id": ev.key, "status": ev.status, "text": ev.reason} if ev.kind else {"message": msg})
            if ev.failed:
                doc["error"] = True
            self._line(json.dumps(doc))
            return
        if self._live is not None:
            if ev.kind:
                with self._lock:
                    self.board.apply(ev, now)
                self._live.refresh()
            else:
                self._live.console.print(msg, markup=False, highlight=False)
            return
        if self.mode == "tty" and ev.kind:
            mark = "✘" if ev.failed else "✔"
            self._line(f" {mark} {msg}" if not ev.working else f" … {msg}")
        else:
            self._line(msg)

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def __enter__(self) -> Progress:
        if self.mode == "tty":
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream, force_terminal=True, highlight=False)
            self._live = Live(console=console, get_renderable=self._render, refresh_per_second=8,
                              transient=False, redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.refresh()
            live.stop()

    def _render(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        with self._lock:
            rows = [(r.event, self.board.elapsed(r, now)) for r in self.board.rows.values()]
            done = self.board.done
        grid = Table.grid(padding=(0, 1), expand=False)
        grid.add_column(width=2)
        grid.add_column()
        grid.add_column()
        grid.add_column(justify="right", style="dim")
        for ev, elapsed in rows:
            if ev.working:
                mark: Any = Spinner("dots", style="cyan")
            elif ev.failed:
                mark = Text("✘", style="red")
            else:
                mark = Text("✔", style="green")
            status = Text(ev.status, style="red" if ev.failed else ("cyan" if ev.working else "green"))
            if ev.reason:
                status.append(f" ({ev.reason})", style="dim")
            grid.add_row(mark, Text(ev.key), status, f"{elapsed:.1f}s")
        total = len(rows)
        header = Text(f"[+] {self.title} {done}/{total}", style="bold" if total else "")
        outer = Table.grid()
        outer.add_row(header)
        if total:
            outer.add_row(grid)
        return outer
