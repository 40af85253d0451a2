"""Reading containers' JSON-lines logs and printing them with aligned, coloured prefixes.

The monitor of each container appends Docker's json-file records ``{"time","stream","log"}`` to
``<container dir>/log.json`` (rotated to ``log.json.1`` …). A restart keeps the container's
directory, so following a file follows the service across restarts; a recreate makes a new
container, which the follower picks up from the state database.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

COLOURS = (36, 33, 32, 35, 34, 96, 93, 92, 95, 94)


@dataclass(frozen=True)
class LogRecord:
    """One line of a container's log with its stream and time, so that ``logs`` can merge and filter services."""
    time: str
    stream: str
    text: str

    @property
    def timestamp(self) -> float:
        try:
            return datetime.fromisoformat(self.time.replace("Z", "+00:00")[:26] + "+00:00"
                                          if self.time.endswith("Z") else self.time).timestamp()
        except ValueError:
            return 0.0


def parse_line(line: str) -> LogRecord | None:
    try:
        d: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    return LogRecord(str(d.get("time", "")), str(d.get("stream", "stdout")), str(d.get("log", "")))


def log_files(log_path: Path) -> list[Path]:
    """Rotated files oldest first, then the live one."""
    rotated = sorted(
        (p for p in log_path.parent.glob(log_path.name + ".*") if p.suffix.lstrip(".").isdigit()),
        key=lambda p: -int(p.suffix[1:]),
    )
    return [*rotated, log_path] if log_path.exists() else rotated


def read_records(log_path: Path, *, upto: int | None = None) -> Iterator[LogRecord]:
    """Every record, oldest first; of the live file only its first ``upto`` bytes when given (where
    a :class:`Follower` made before the read starts, so that no line is shown twice or lost)."""
    for f in log_files(log_path):
        left = upto if upto is not None and f == log_path else None
        with open(f, "rb") as fh:  # line by line: a log without rotation can be large
            for raw in fh:
                if left is not None:
                    if left <= 0:
                        break
                    raw, left = raw[:left], left - len(raw)
                rec = parse_line(raw.decode("utf-8", errors="replace"))
                if rec:
                    yield rec


class Follower:
    """Tails one log file from an offset, surviving rotation (a new inode at the same path)."""

    def __init__(self, path: Path, *, from_end: bool = False) -> None:
        self.path = path
        self.offset = 0
        self.inode: int | None = None
        self.partial = ""
        if from_end and path.exists():
            st = path.stat()
            self.offset, self.inode = st.st_size, st.st_ino

    def poll(self) -> list[LogRecord]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        if self.inode is not None and st.st_ino != self.inode:
            self.offset = 0
        self.inode = st.st_ino
        if st.st_size < self.offset:
            self.offset = 0
        if st.st_size == self.offset:
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.offset += len(data)
        text = self.partial + data.decode("utf-8", errors="replace")
        lines = text.split("\n")
        self.partial = lines.pop()
        return [r for r in (parse_line(x) for x in lines if x) if r]


class Printer:
    """``name | line`` with names padded to one width and a colour per name, as Compose prints."""

    def __init__(self, names: list[str], *, colour: bool | None = None, prefix: bool = True,
                 timestamps: bool = False, out: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self.width = max((len(n) for n in names), default=0)
        self.colour = colour if colour is not None else (self.out.isatty() and "NO_COLOR" not in os.environ)
        self.prefix = prefix
        self.timestamps = timestamps
        self._colours: dict[str, int] = {}

    def _colour_for(self, name: str) -> int:
        if name not in self._colours:
            self._colours[name] = COLOURS[len(self._colours) % len(COLOURS)]
        return self._colours[name]

    def add_name(self, name: str) -> None:
        self.width = max(self.width, len(name))

    def write(self, name: str, rec: LogRecord) -> None:
        text = rec.text[:-1] if rec.text.endswith("\n") else rec.text
        head = ""
        if self.prefix:
            label = f"{name.ljust(self.width)} | "
            head = f"\x1b[{self._colour_for(name)}m{label}\x1b[0m" if self.colour else label
        ts = f"{rec.time} " if self.timestamps else ""
        self.out.write(f"{head}{ts}{text}\n")
        self.out.flush()

    def exited(self, name: str, code: int) -> None:
        """``name exited with code N``, unprefixed in the name's colour, as Compose marks an exit."""
        text = f"{name} exited with code {code}"
        self.out.write((f"\x1b[{self._colour_for(name)}m{text}\x1b[0m" if self.colour else text) + "\n")
        self.out.flush()
