"""The caller's side of a container process's pty: raw keys in, output out, the size kept in step.

Shared by ``exec -t`` and a foreground ``run`` with a terminal, as ``docker exec -it`` and
``docker compose run`` behave: while our stdin is a terminal it goes raw, so every key (Ctrl-C
included) reaches the container's line discipline, and SIGWINCH resizes the pty.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import termios
from typing import Any


def relay(master: int, pid: int) -> None:
    """Copy between our terminal and ``master`` until the pty closes or process ``pid`` is gone;
    closes ``master``."""
    pidfd = os.pidfd_open(pid)
    fds = [master, pidfd]
    stdin_open = True
    saved = None
    old_winch: Any = None
    if os.isatty(0):
        import tty as ttymod

        saved = termios.tcgetattr(0)
        copy_winsize(0, master)
        old_winch = signal.signal(signal.SIGWINCH, lambda *_: copy_winsize(0, master))
        ttymod.setraw(0, termios.TCSANOW)  # never flush what was typed ahead
    try:
        while True:
            rl = select.select(fds + ([0] if stdin_open else []), [], [])[0]
            if master in rl:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                os.write(1, data)
            if 0 in rl:
                data = os.read(0, 65536)
                if not data:
                    stdin_open = False
                else:
                    os.write(master, data)
            if pidfd in rl and master not in rl:
                break
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
            signal.signal(signal.SIGWINCH, old_winch)
        os.close(pidfd)
        os.close(master)


def copy_winsize(src: int, dst: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.ioctl(dst, termios.TIOCSWINSZ, fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8))
