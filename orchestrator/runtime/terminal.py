"""The caller's side of a container process's pty: raw keys in, output out, the size kept in step.

Shared by ``exec -t`` and a foreground ``run`` with a terminal, as ``docker exec -it`` and
``docker compose run`` behave: while our stdin is a terminal it goes raw, so every key (Ctrl-C
included) reaches the container's line discipline, and SIGWINCH resizes the pty.

A ``run``'s container has no other output than its pty, and whoever holds the master is the only
one to see it, so the relay also writes it to the container's log (``exec`` output is never
logged, as with Docker). It is recorded as Docker's json-file records a tty container: one
stream, stdout, bytes as they come (``\\r\\n`` from the line discipline, echoed keys and escape
sequences included), a record per newline or 16 KiB. Unlike the monitor's pipes, a line still
open waits for its newline (or for the pty to close) rather than for a pause: Docker keeps it
so, and an interactive shell's prompt stays on one record with the command line echoed after it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import termios
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.runtime.logfile import LogWriter

QUIET = 0.1  # seconds the pty of a process that has exited may stay silent before the relay ends


def relay(master: int, pid: int | None, log: LogWriter | None = None) -> None:
    """Copy between our terminal and ``master`` until the pty closes or process ``pid`` is gone,
    and into ``log`` what the pty prints; closes ``master`` and ``log``.

    ``pid`` may have exited already (None: so soon that its runtime no longer names it): a short
    command's output is then still in the pty, and is read all the same.

    Our terminal may go away meanwhile (a closed window, a dropped ssh connection: reads end,
    writes fail): the relay then stops using it and goes on, so that what the process prints
    still reaches the log and the caller still gets to collect its exit.
    """
    pidfd = -1
    if pid:
        with contextlib.suppress(ProcessLookupError):
            pidfd = os.pidfd_open(pid)
    fds = [master] if pidfd < 0 else [master, pidfd]
    gone = pidfd < 0
    stdin_open = not gone
    stdout_open = True
    saved = None
    old_winch: Any = None
    try:
        if os.isatty(0):
            import tty as ttymod

            saved = termios.tcgetattr(0)
            copy_winsize(0, master)
            old_winch = signal.signal(signal.SIGWINCH, lambda *_: copy_winsize(0, master))
            ttymod.setraw(0, termios.TCSANOW)  # never flush what was typed ahead
        while True:
            rl = select.select(fds + ([0] if stdin_open else []), [], [], QUIET if gone else None)[0]
            if not rl:  # the process is gone and its pty has been quiet since: nothing more is coming
                break
            if master in rl:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                if log is not None:
                    log.feed("stdout", data)
                if stdout_open:
                    stdout_open = write_all(1, data)
            if 0 in rl:
                try:
                    data = os.read(0, 65536)
                except OSError:  # our terminal was hung up
                    data = b""
                if not data:
                    stdin_open = False
                else:
                    write_all(master, data)  # a pty already closed: its read above ends the relay
            if pidfd in rl:
                # What it printed just before it left may still be on its way to the master
                # (the pty hands it on from a kernel work queue): read until the pty closes or
                # stays quiet, rather than stop at once and lose a short command's every line.
                gone, stdin_open = True, False
                fds.remove(pidfd)
    finally:
        if saved is not None:
            with contextlib.suppress(OSError, termios.error):  # a terminal hung up has no modes to restore
                termios.tcsetattr(0, termios.TCSADRAIN, saved)
            signal.signal(signal.SIGWINCH, old_winch)
        if pidfd >= 0:
            os.close(pidfd)
        os.close(master)
        if log is not None:
            log.close()  # the line left open, as Docker writes it at the end of the stream


def write_all(fd: int, data: bytes) -> bool:
    """Write all of ``data``; False if ``fd`` has gone away (EIO from a terminal hung up)."""
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        return False
    return True


def copy_winsize(src: int, dst: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.ioctl(dst, termios.TIOCSWINSZ, fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8))
