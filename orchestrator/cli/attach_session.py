"""An attached terminal: the user's keys to a running container's PID 1, its output back, until it ends.

Output comes from the container's log, followed from its end, because the monitor is the one
reader of the container's pipes or pty (see :mod:`orchestrator.runtime.attachment`): what PID 1
prints reaches the terminal once the monitor has logged it, a whole line at once, a line still
open after 0.2 s without its newline (a prompt, an echoed key). Keys go straight to PID 1's
input. With a terminal on both sides, ours goes raw so that every key (Ctrl-C included) reaches
the container's line discipline, and its size follows ours.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import termios
from pathlib import Path
from typing import Any

from orchestrator.cli.detach_keys import Scanner
from orchestrator.reconcile.logs import Follower
from orchestrator.runtime.attachment import Attachment
from orchestrator.runtime.terminal import copy_winsize, write_all

POLL = 0.05  # how often the log is read while nothing else happens


def relay(att: Attachment, log_path: Path, *, stdin: bool, detach_keys: bytes) -> bool:
    """Relay until the run ends (True) or the user types the detach keys (False).

    ``stdin``: forward our standard input to PID 1's (when it has one open). Once ours ends, the
    container's stays open (the monitor holds it) and the output goes on, as with Docker.
    """
    follower = Follower(log_path, from_end=True)
    forward = stdin and att.stdin is not None
    scanner = Scanner(detach_keys)
    saved: list[Any] | None = None
    old_winch: Any = None
    try:
        if forward and att.terminal and os.isatty(0):
            import tty as ttymod

            assert att.stdin is not None
            saved = termios.tcgetattr(0)
            copy_winsize(0, att.stdin)
            master = att.stdin
            old_winch = signal.signal(signal.SIGWINCH, lambda *_: copy_winsize(0, master))
            ttymod.setraw(0, termios.TCSANOW)
        while True:
            ready = select.select([att.ended, *([0] if forward else [])], [], [], POLL)[0]
            _show(follower)
            if att.ended in ready:
                _show(follower)  # the monitor logged everything before it recorded the exit
                return True
            if 0 in ready:
                data = _read(0)
                if not data:
                    forward = False
                    continue
                passed, detached = scanner.feed(data)
                if passed and att.stdin is not None and not write_all(att.stdin, passed):
                    forward = False  # PID 1's input is gone; its end shows on ``ended``
                if detached:
                    return False
    finally:
        if saved is not None:
            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(0, termios.TCSADRAIN, saved)
            signal.signal(signal.SIGWINCH, old_winch)


def _show(follower: Follower) -> None:
    for rec in follower.poll():
        fd = 2 if rec.stream == "stderr" else 1
        write_all(fd, rec.text.encode("utf-8", "replace"))


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # our terminal hung up
        return b""
