"""Finding, adopting and stopping a stack's network service process by its pid file.

The pid alone is not trusted (pids are reused): the process must also carry the service's
module name and the project in its command line before it is adopted or signalled.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from pathlib import Path

from orchestrator.paths import Paths

MODULE = "orchestrator.network.service"


def pid_file(paths: Paths, project: str) -> Path:
    return paths.stack_run(project) / "network.pid"


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p]


def running_service(paths: Paths, project: str) -> int | None:
    """The pid of the live network service of ``project`` under this root, or None."""
    try:
        pid = int(pid_file(paths, project).read_text().strip())
    except (OSError, ValueError):
        return None
    cmd = _cmdline(pid)
    if MODULE not in cmd or project not in cmd or str(paths.root) not in cmd:
        return None
    return pid


def write_pid(paths: Paths, project: str) -> None:
    path = pid_file(paths, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{os.getpid()}\n")
    tmp.replace(path)


def stop_service(paths: Paths, project: str, timeout: float = 3.0) -> None:
    """SIGTERM the stack's service, SIGKILL it after ``timeout``; gone already is fine."""
    pid = running_service(paths, project)
    if pid is not None:
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            pidfd = None
        try:
            if pidfd is not None and running_service(paths, project) == pid:  # still the service
                signal.pidfd_send_signal(pidfd, signal.SIGTERM)
                if not _wait_done(paths, project, pid, pidfd, timeout):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass
        finally:
            if pidfd is not None:
                os.close(pidfd)
    with contextlib.suppress(FileNotFoundError):
        pid_file(paths, project).unlink()


def _wait_done(paths: Paths, project: str, pid: int, pidfd: int, timeout: float) -> bool:
    """Until the service has let go of its sockets and files: it removes its pid file once it has
    (the interpreter's own teardown after that does not matter), or it has exited (the pidfd is
    readable; a zombie of whoever spawned it counts as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([pidfd], [], [], 0.002)[0] or running_service(paths, project) != pid:
            return True
    return _zombie_or_gone(pid)


def _zombie_or_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
