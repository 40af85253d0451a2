"""What a caller hands a container's monitor, and how it reads the monitor's report.

Apart from :mod:`orchestrator.runtime.monitor` so that a command that only asks the zygote for a
monitor never imports the monitor's own code (the container init, log writing): the zygote holds
that, imported once, in every monitor it forks.
"""

from __future__ import annotations

import json
import os
import select
import time
from dataclasses import dataclass, field
from typing import Any

from orchestrator.runtime.store import ContainerDir


@dataclass
class MonitorPlan:
    """What a caller hands a container's monitor: all decided before the fork, so the monitor only acts."""
    cdir: ContainerDir
    cfg: dict[str, Any]
    bundle: str  # a string, not a Path: see ContainerDir
    ns_new: int
    pid_ns: tuple[str | None, bool]  # (path to join, unshare new)
    time_ns: bool
    cgroups_path: str | None
    seccomp_bpf: bytes | None
    log_path: str | None
    log_max_size: int | None
    log_max_files: int
    console_socket: str | None
    ns_join_fds: list[tuple[int, int]] = field(default_factory=list)  # (fd, CLONE_*) for the init's setns
    init_fds: tuple[int, int, int] = (-1, -1, -1)  # go (read), ready (write), exec fifo: handed to the init
    userns: bool = False
    console: str | None = None  # host path of the pty slave the init takes as its terminal
    # The init enters its cgroup by itself (cgroups.SelfJoin): born in ``join_v2`` when the kernel
    # allows it, then ``0`` written to each of ``join_v1``. Otherwise the caller writes its pid.
    joins_itself: bool = False
    join_v2: str | None = None
    join_v1: list[str] = field(default_factory=list)
    # The OCI config as JSON, when ``cfg`` was left empty: a monitor forked from the zygote never
    # parses it (see :meth:`config`).
    cfg_json: bytes = b""
    # A pidfd of the process that forked this monitor itself (monitor.fork_monitor), -1 for one
    # forked by the zygote: a monitor outliving its caller re-executes lean (lean_monitor).
    caller_fd: int = -1
    # The init reads the caller's own standard input (a foreground ``run``'s), not /dev/null. Only
    # a monitor its caller forks has that descriptor: such a plan never goes to the zygote.
    attach_stdin: bool = False
    # A copy of the master of the init's pty, kept by a monitor its caller forked when that caller
    # relays the pty and logs it (a foreground ``run`` on a terminal): the monitor takes both
    # over if the caller dies first, as Docker's engine holds a tty container's pty. -1: none.
    console_master: int = -1
    # process.terminal with a log but no console socket (a service's ``tty: true``): the monitor
    # makes the pty itself, gives the init its slave and logs the master, as containerd's shim.
    own_console: bool = False
    # The init's standard input is a pipe whose write end the monitor holds, open and unwritten, as
    # long as the container runs (``stdin_open: true``: a shell waits for input instead of ending).
    open_stdin: bool = False
    # Run by a monitor its caller forked, after PID 1's exit is recorded, if that caller died first
    # (Runtime.create's ``orphan_exit_command``); carried through the lean re-exec.
    orphan_exit_command: list[str] = field(default_factory=list)
    # The caller has finished acting on the exit once this path is gone (Runtime.create's
    # ``orphan_exit_unless_gone``): a caller that dies after PID 1 but before that still counts.
    orphan_exit_unless_gone: str = ""

    def config(self) -> dict[str, Any]:
        """The OCI config, parsed from ``cfg_json`` on first use.

        The init, which execs soon after, is what needs it. The zygote used to parse it for each
        request, scattering new objects over pages that every monitor forked before still shared
        with it, so each of those got private copies: ~150 KiB more per monitor, measured.
        """
        if not self.cfg and self.cfg_json:
            self.cfg = json.loads(self.cfg_json)
        return self.cfg


def read_report(fd: int, timeout: float, until_eof: bool) -> bytes | None:
    """One line (or everything until EOF) from a report pipe; None on timeout."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        b = os.read(fd, 65536)
        if not b:
            break
        chunks.append(b)
        if not until_eof and b.endswith(b"\n"):
            break
    return b"".join(chunks)
