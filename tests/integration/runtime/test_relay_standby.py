"""The monitor's relay takes a pty's master over when the process that relayed it dies first.

Real pty, real processes: a "container" writing to the slave, a "caller" whose death the relay
watches through a pidfd, as a foreground ``run`` and its monitor. The orphan callback here
returns (as when the lean re-exec fails), so the relay itself must read the master from then on.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from orchestrator.runtime import relay
from orchestrator.runtime.logfile import LogWriter


def _child(body: str, slave: int, go: int) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - a child process
        try:
            os.setsid()
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            if body == "container":
                os.write(1, b"before\n")
                os.read(go, 1)
                os.write(1, b"after\n")
                os._exit(4)
            os.read(go, 1)  # the caller: lives until told to die
        finally:
            os._exit(0)
    return pid


def test_the_master_is_relayed_from_the_caller_s_death_on_and_its_eio_ends_it(tmp_path: Path) -> None:
    master, slave = os.openpty()
    go_r, go_w = os.pipe()
    caller_r, caller_w = os.pipe()
    container = _child("container", slave, go_r)
    caller = _child("caller", slave, caller_r)
    os.close(slave)
    seen_by_caller = b""
    while b"before" not in seen_by_caller:  # the caller's own relay, while it lives
        seen_by_caller += os.read(master, 100)
    called: list[bool] = []
    pidfd, caller_fd = os.pidfd_open(container), os.pidfd_open(caller)
    log_path = tmp_path / "log.json"
    os.kill(caller, signal.SIGKILL)
    os.waitpid(caller, 0)
    try:
        writer = os.fork()
        if writer == 0:  # pragma: no cover - lets the container go on once the relay is waiting
            time.sleep(0.3)
            os.write(go_w, b"g")
            os._exit(0)
        status = relay.relay(container, pidfd, {}, LogWriter(str(log_path), None, 1),
                             (caller_fd, lambda: called.append(True)), {master: "stdout"})
        os.waitpid(writer, 0)
    finally:
        for fd in (master, go_r, go_w, caller_r, caller_w, pidfd, caller_fd):
            os.close(fd)
    assert called == [True]
    assert os.waitstatus_to_exitcode(status) == 4
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [(r["stream"], r["log"]) for r in records] == [("stdout", "after\r\n")]
