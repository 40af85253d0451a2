"""The command a monitor runs when its container has ended with no caller left to act on it.

Detached (a session of its own, the descriptors the monitor holds closed, output to /dev/null) and
not waited for: the monitor leaves right after, and the command may well remove the container's
directory from under it. Only the rare path that needs it imports this (and ``subprocess``).

pystack's monitor made the container's PID (and time) namespace the one its children are born in
(``unshare``, before it forked PID 1). That namespace died with PID 1, and a fork into it fails,
so the monitor's children go back to its own namespaces first.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Sequence


def run_detached(argv: Sequence[str]) -> None:
    if not argv:
        return
    _children_in_own_namespaces()
    with contextlib.suppress(OSError):  # a command that cannot start leaves things as before it
        subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True)


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
