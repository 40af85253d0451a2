"""Docker's json-file log format, written by the monitor: one JSON object per line, rotated by size.

``{"log": "...\\n", "stream": "stdout", "time": "2026-01-02T03:04:05.123456789Z"}``. Lines are
cut at 16 KiB as Docker does, and a partial line is written once its stream has been idle for a
moment, so a prompt without a newline is not held back forever (the relay of a ``run``'s pty,
the other writer, keeps it until its newline instead, as Docker does: see
:mod:`orchestrator.runtime.terminal`). Stdlib only: this runs in every monitor and each import
costs memory per container.
"""

from __future__ import annotations

import json
import os
import time

MAX_LINE = 16 * 1024
IDLE_FLUSH = 0.2  # seconds a partial line may wait for its newline


def rfc3339_nano(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


class LogWriter:
    def __init__(self, path: str, max_size: int | None = None, max_files: int = 1) -> None:
        self.path = path
        self.max_size = max_size if max_size and max_size > 0 else None
        self.max_files = max(1, max_files)
        self.fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)  # read: see below
        self.size = os.fstat(self.fd).st_size
        if self.size:
            self._end_torn_record()
        self.pending: dict[str, bytes] = {}
        self.pending_since: dict[str, float] = {}

    def _end_torn_record(self) -> None:
        """End with a newline a last record that a writer killed mid-write left without one.

        A record is one write(2), but a fatal signal may cut a large one short. Appended to as it
        is, the next record would join it on one line and be unreadable too; ended here, the torn
        line alone is skipped by readers (:func:`orchestrator.reconcile.logs.parse_line`). A fresh
        log (size 0: every create of a new container) costs nothing.
        """
        if os.pread(self.fd, 1, self.size - 1) != b"\n":
            os.write(self.fd, b"\n")
            self.size += 1

    def feed(self, stream: str, data: bytes) -> None:
        buf = self.pending.get(stream, b"") + data
        while True:
            nl = buf.find(b"\n")
            if nl < 0 or nl >= MAX_LINE:
                if len(buf) >= MAX_LINE:
                    self._emit(stream, buf[:MAX_LINE])
                    buf = buf[MAX_LINE:]
                    continue
                break
            self._emit(stream, buf[: nl + 1])
            buf = buf[nl + 1 :]
        if buf:
            if stream not in self.pending_since or not self.pending.get(stream):
                self.pending_since[stream] = time.monotonic()
            self.pending[stream] = buf
        else:
            self.pending.pop(stream, None)
            self.pending_since.pop(stream, None)

    def next_deadline(self) -> float | None:
        """Seconds until a partial line is due, for the monitor's poll timeout."""
        if not self.pending:
            return None
        oldest = min(self.pending_since.values())
        return max(0.0, oldest + IDLE_FLUSH - time.monotonic())

    def flush_partial(self, force: bool = False) -> None:
        now = time.monotonic()
        for stream in list(self.pending):
            if force or now - self.pending_since.get(stream, now) >= IDLE_FLUSH:
                self._emit(stream, self.pending.pop(stream))
                self.pending_since.pop(stream, None)

    def _emit(self, stream: str, chunk: bytes) -> None:
        rec = {"log": chunk.decode("utf-8", "replace"), "stream": stream, "time": rfc3339_nano(time.time_ns())}
        line = (json.dumps(rec, ensure_ascii=False) + "\n").encode()
        if self.max_size is not None and self.size > 0 and self.size + len(line) > self.max_size:
            self._rotate()
        os.write(self.fd, line)
        self.size += len(line)

    def _rotate(self) -> None:
        os.close(self.fd)
        if self.max_files > 1:
            for i in range(self.max_files - 1, 0, -1):
                src = self.path if i == 1 else f"{self.path}.{i - 1}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{i}")
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        else:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        self.fd = os.open(self.path, flags, 0o640)
        self.size = 0

    def close(self) -> None:
        self.flush_partial(force=True)
        os.close(self.fd)
