"""What ``attach`` needs of a running container: its PID 1's input, and a way to see the run end.

The monitor holds the other side of PID 1's input for as long as PID 1 runs: the master of its
pty (``tty: true``), or the write end of its stdin pipe (``stdin_open: true``). Docker's engine
serves attach clients from there. pystack's monitor serves no clients (it stays a small, idle
process), so the attaching command takes a copy of that descriptor out of the monitor with
pidfd_getfd(2) and writes the user's keys to it. The copy is taken only once it is shown to be
the very pipe or pty that PID 1 has as its standard input, whatever else the monitor holds.

Output is not read from there: the monitor is the pty's or pipes' one reader and logs all of
it, so an attached command follows the log, and never takes lines from it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.errors import RuntimeFailure
from orchestrator.runtime import kernel as k
from orchestrator.runtime.store import alive

TIOCGPTPEER = 0x5441  # open the slave of a pty master (Linux 4.13+); not in Python's termios
_PTY_SLAVE_MAJORS = range(136, 144)


@dataclass
class Attachment:
    """An attached command's view of one run of a container; :meth:`close` releases it."""

    pid: int  # PID 1 of the run
    ended: int  # a pidfd of the run's monitor: readable once PID 1 has ended and its exit is recorded
    stdin: int | None  # writes to PID 1's input; None when the run has no input open
    terminal: bool  # ``stdin`` is the master of PID 1's pty: keys go through its line discipline

    def close(self) -> None:
        for fd in (self.ended, self.stdin):
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.ended, self.stdin = -1, None


def attach(pid: int, pid_start: int | None, monitor_pid: int, monitor_start: int | None) -> Attachment:
    """The attachment of the run whose PID 1 is ``pid``, supervised by ``monitor_pid``."""
    try:
        ended = os.pidfd_open(monitor_pid)
    except ProcessLookupError:
        raise RuntimeFailure("the container is not running") from None
    # checked after the pidfd is held, so that the pidfd is the monitor's, never a reused pid's
    if not alive(monitor_pid, monitor_start) or not alive(pid, pid_start):
        os.close(ended)
        raise RuntimeFailure("the container is not running")
    try:
        stdin, terminal = _input_of(pid, monitor_pid, ended)
    except BaseException:
        os.close(ended)
        raise
    return Attachment(pid, ended, stdin, terminal)


def _input_of(pid: int, monitor_pid: int, monitor_pidfd: int) -> tuple[int | None, bool]:
    try:
        st = os.stat(f"/proc/{pid}/fd/0")
    except OSError:  # no standard input at all
        return None, False
    want = (st.st_dev, st.st_ino)
    if stat.S_ISFIFO(st.st_mode):
        return _monitor_copy(monitor_pid, monitor_pidfd, lambda fd: _is_write_end(fd, want)), False
    if stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) in _PTY_SLAVE_MAJORS:
        return _monitor_copy(monitor_pid, monitor_pidfd, lambda fd: _is_master_of(fd, want)), True
    return None, False  # /dev/null: the service keeps no input open


def _monitor_copy(monitor_pid: int, monitor_pidfd: int, accept: Callable[[int], bool]) -> int | None:
    """A copy of the first of the monitor's descriptors that ``accept`` takes (others are closed)."""
    try:
        names = os.listdir(f"/proc/{monitor_pid}/fd")
    except OSError:
        return None
    for name in names:
        try:
            fd = k.pidfd_getfd(monitor_pidfd, int(name))
        except OSError:
            continue
        try:
            if accept(fd):
                return fd
        except OSError:
            pass
        os.close(fd)
    return None


def _is_write_end(fd: int, pipe: tuple[int, int]) -> bool:
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino) == pipe and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY


def _is_master_of(fd: int, slave: tuple[int, int]) -> bool:
    """TIOCGPTPEER opens a master's own slave (an error on anything else): its identity names the
    pty exactly, where a pty number alone could belong to another devpts instance."""
    if not os.isatty(fd):
        return False
    peer = fcntl.ioctl(fd, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(peer)
    finally:
        os.close(peer)
    return (st.st_dev, st.st_ino) == slave
