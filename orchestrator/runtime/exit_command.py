"""The command a monitor runs when its container has ended and its caller may not act on it.

conmon's ``--exit-command``, for the one case where it is needed: the caller (a foreground
``run --rm``) is gone before it has finished acting on PID 1's exit. The monitor leaves a watcher
(:func:`run_after_caller`), a fork of itself sharing its pages: it waits for the caller to end,
then runs the command if the caller's work is still undone (a path it removes when done is still
there). A caller already dead (or a lean monitor's, gone by definition) is not waited for. The
watcher is detached: a session of its own, the monitor's descriptors closed, output to
/dev/null, never waited for; the command may well remove the container's directory.

pystack's monitor made the container's PID (and time) namespace the one its children are born in
(``unshare``, before it forked PID 1). That namespace died with PID 1, and a fork into it fails,
so the monitor's children go back to its own namespaces first.
"""

from __future__ import annotations

import contextlib
import os
import select
from collections.abc import Sequence


def run_after_caller(argv: Sequence[str], unless_gone: str, caller_fd: int | None = None) -> None:
    """Run ``argv``, detached, once the caller behind pidfd ``caller_fd`` has ended (at once
    without one), if ``unless_gone`` still exists then."""
    if not argv:
        return
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

        # the monitor's pipes, log and pidfds are not the watcher's (nor the command's)
        close_fds_except(set() if caller_fd is None else {caller_fd})
        if caller_fd is not None:
            select.select([caller_fd], [], [])
        if os.path.lexists(unless_gone):
            os.execvp(argv[0], list(argv))
    finally:
        os._exit(0)


def _children_in_own_namespaces() -> None:
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
