"""The command a monitor runs when its container has ended with no caller left to act on it.

Detached (a session of its own, the descriptors the monitor holds closed, output to /dev/null) and
not waited for: the monitor leaves right after, and the command may well remove the container's
directory from under it. When the caller is still there at PID 1's exit, the command waits in a
watcher for the caller to end, and runs only if the caller had not finished (:func:`run_if_caller_quits`).
Only the monitors of containers that have a command import this (``subprocess`` only when one runs).

pystack's monitor made the container's PID (and time) namespace the one its children are born in
(``unshare``, before it forked PID 1). That namespace died with PID 1, and a fork into it fails,
so the monitor's children go back to its own namespaces first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence


def run_detached(argv: Sequence[str]) -> None:
    if not argv:
        return
    import subprocess

    _children_in_own_namespaces()
    with contextlib.suppress(OSError):  # a command that cannot start leaves things as before it
        subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True)


def run_if_caller_quits(caller_fd: int, unless_gone: str, argv: Sequence[str]) -> None:
    """Leave behind a watcher that waits for the caller (``caller_fd``, a pidfd) to end, then runs
    ``argv`` if ``unless_gone`` still exists: the caller was killed before it had finished.

    The caller has PID 1's exit by now and usually finishes within milliseconds, so the watcher, a
    fork of the monitor sharing its pages, lives as long as that and costs no command at all.
    """
    if not argv:
        return
    import os
    import select

    _children_in_own_namespaces()
    try:
        pid = os.fork()
    except OSError:  # left as before: only a caller killed just now would need it
        return
    if pid:
        return
    try:
        os.setsid()
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        from orchestrator.runtime.init import close_fds_except

        close_fds_except({caller_fd})  # the monitor's pipes, log and pidfds are not the watcher's
        select.select([caller_fd], [], [])
        if os.path.lexists(unless_gone):
            os.execvp(argv[0], list(argv))
    finally:
        os._exit(0)


def _children_in_own_namespaces() -> None:
    import os

    from orchestrator.runtime import kernel as k

    for name, flag in (("pid", k.CLONE_NEWPID), ("time", k.CLONE_NEWTIME)):
        try:
            fd = os.open(f"/proc/self/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # a kernel without time namespaces
            continue
        try:
            with contextlib.suppress(OSError):  # the fork then fails, and is reported as not run
                k.setns(fd, flag)
        finally:
            os.close(fd)
