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
        fd = _monitor_fd(monitor_pid, monitor_pidfd, lambda n: _is_write_end(monitor_pid, n, want))
        return fd, False
    if stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) in _PTY_SLAVE_MAJORS:
        return _master_of(monitor_pid, monitor_pidfd, want), True
    return None, False  # /dev/null: the service keeps no input open


def _monitor_fd(monitor_pid: int, monitor_pidfd: int, matches: Callable[[int], bool]) -> int | None:
    try:
        names = os.listdir(f"/proc/{monitor_pid}/fd")
    except OSError:
        return None
    for name in names:
        n = int(name)
        if matches(n):
            try:
                return k.pidfd_getfd(monitor_pidfd, n)
            except OSError:
                return None
    return None


def _is_write_end(monitor_pid: int, n: int, want: tuple[int, int]) -> bool:
    try:
        st = os.stat(f"/proc/{monitor_pid}/fd/{n}")
        with open(f"/proc/{monitor_pid}/fdinfo/{n}", encoding="ascii") as fh:
            flags = next((int(line.split()[1], 8) for line in fh if line.startswith("flags:")), 0)
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == want and flags & os.O_ACCMODE == os.O_WRONLY


def _master_of(monitor_pid: int, monitor_pidfd: int, slave: tuple[int, int]) -> int | None:
    """The monitor's master whose slave is ``slave`` (device, inode): TIOCGPTPEER names it exactly,
    where a pty number alone could belong to another devpts instance."""
    try:
        names = os.listdir(f"/proc/{monitor_pid}/fd")
    except OSError:
        return None
    for name in names:
        try:
            if not os.readlink(f"/proc/{monitor_pid}/fd/{name}").endswith("ptmx"):
                continue
            master = k.pidfd_getfd(monitor_pidfd, int(name))
        except OSError:
            continue
        try:
            peer = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
            try:
                st = os.fstat(peer)
            finally:
                os.close(peer)
            if (st.st_dev, st.st_ino) == slave:
                return master
        except OSError:
            pass
        os.close(master)
    return None
