"""A monitor's life once PID 1 runs: copy its output into the log until it exits, then record how.

Apart from :mod:`orchestrator.runtime.monitor`, which also forks the init and so imports its code,
because this is all that :mod:`orchestrator.runtime.lean_monitor` loads: a monitor that has left
the memory of the command that forked it behind runs only this for the rest of the container's
life. Standard library, the log writer and the state files' writer only.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import time
from collections.abc import Callable

from orchestrator.runtime.jsonfile import write_json
from orchestrator.runtime.logfile import LogWriter

GRACE = 2.0  # seconds the pipes may stay open after PID 1 exits (grandchildren holding them)


def relay(pid: int, pidfd: int, pipes: dict[int, str], log: LogWriter | None,
          orphaned: tuple[int, Callable[[], None]] | None = None, standby: dict[int, str] | None = None) -> int:
    """Relay ``pipes`` into ``log`` until PID 1 (``pid``) has exited and its pipes are closed; its wait status.

    ``orphaned`` is ``(pidfd of the process that forked this monitor, what to do if it dies first)``:
    the callback is called once, with the log flushed, if that process exits while PID 1 still
    runs. It may replace this process (exec) and so never return. ``standby`` are descriptors
    that process reads itself while it lives (the master of a pty it relays to its terminal):
    relayed here too from its death on, so that what the container prints afterwards is logged.
    """
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    for fd in pipes:
        poller.register(fd, select.POLLIN)
    if orphaned is not None:
        poller.register(orphaned[0], select.POLLIN)
    open_pipes = set(pipes)
    exited_at: float | None = None
    while open_pipes or exited_at is None:
        timeout: float | None = log.next_deadline() if log else None
        if exited_at is not None:
            left = exited_at + GRACE - time.monotonic()
            if left <= 0:
                break
            timeout = left if timeout is None else min(timeout, left)
        events = poller.poll(None if timeout is None else int(timeout * 1000) + 1)
        for fd, _ev in events:
            if fd == pidfd:
                poller.unregister(pidfd)
                exited_at = time.monotonic()
            elif orphaned is not None and fd == orphaned[0]:
                poller.unregister(fd)
                if exited_at is None:
                    if log:
                        log.flush_partial(force=True)
                    orphaned[1]()
                    for extra, name in (standby or {}).items():  # the callback did not exec: relay them here
                        pipes[extra] = name
                        poller.register(extra, select.POLLIN)
                        open_pipes.add(extra)
            else:
                data = _read(fd)
                if data and log:
                    log.feed(pipes[fd], data)
                elif not data:
                    poller.unregister(fd)
                    open_pipes.discard(fd)
        if log:
            log.flush_partial()
    if log:
        log.close()
    _, status = os.waitpid(pid, 0)
    return status


def _read(fd: int) -> bytes:
    """What a pipe or a pty master holds; b"" at its end. A master reads EIO, not EOF, once every
    descriptor of its slave is closed (the container's processes are gone)."""
    try:
        return os.read(fd, 65536)
    except OSError as exc:
        if exc.errno == errno.EIO:
            return b""
        raise


def record(exit_file: str | os.PathLike[str], status: int, cgroups_path: str | None) -> None:
    """Write ``exit.json``: the code, the signal, and whether the kernel's OOM killer sent it."""
    oom = False
    if cgroups_path and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:  # OOM kills are SIGKILL
        try:
            from orchestrator.cgroups import open_cgroup

            oom = open_cgroup(cgroups_path).oom_kill_count() > 0
        except Exception:
            oom = False
    code, sig = decode(status)
    write_json(exit_file, {"code": code, "signal": sig, "oom_killed": oom, "finished_at": time.time()})


def decode(status: int) -> tuple[int, int | None]:
    """``(exit code as a shell reports it, signal or None)`` from a wait status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return 128 + sig, sig
    return os.WEXITSTATUS(status), None
