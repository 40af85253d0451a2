"""Signal every process of a cgroup without racing its forks (shared by both drivers)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable

from orchestrator.cgroups.fs import wait_for
from orchestrator.errors import CgroupError

EMPTY_TIMEOUT = 10.0


def signal_all(
    procs: Callable[[], list[int]],
    *,
    sig: int,
    freeze: Callable[[], None] | None,
    thaw: Callable[[], None] | None,
    what: str,
    was_frozen: bool = False,
    timeout: float = EMPTY_TIMEOUT,
) -> None:
    """Freeze, signal every member, thaw; for SIGKILL repeat until the cgroup is empty.

    Frozen tasks cannot fork, so the list read while frozen is complete; the signal is delivered
    on thaw. Zombies leave cgroup.procs when they exit, so waiting for an empty list does not
    depend on who reaps them. A paused cgroup stays paused for other signals (they are delivered
    on resume, as Docker does); SIGKILL always thaws, since a v1-frozen task cannot even die.
    """
    deadline = time.monotonic() + timeout
    while pids := procs():
        if freeze is not None:
            freeze()
        try:
            for pid in procs():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        finally:
            if thaw is not None and (sig == signal.SIGKILL or not was_frozen):
                thaw()
        if sig != signal.SIGKILL:
            return
        try:
            wait_for(lambda: not procs(), timeout=0.5, what=f"{what} to empty")
        except CgroupError:
            if time.monotonic() > deadline:
                raise CgroupError(f"{what}: processes {pids[:5]} survive SIGKILL") from None
