"""Talking to a stack's supervisor: start it if needed, tell it to reload, ask it to go.

The protocol is one JSON line each way over ``<run>/stacks/<project>/supervisor.sock``. Every
function here tolerates a supervisor that is not running: commands then act on the state alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from typing import Any

from orchestrator import isolated, unix_socket
from orchestrator.paths import Paths


def alive(pid: int) -> bool:
    """True for a live process; a zombie (exited, not yet reaped by whoever adopted it) is dead."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _pid(paths: Paths, project: str) -> int | None:
    try:
        pid = int((paths.stack_run(project) / "supervisor.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def read_line(sock: socket.socket) -> bytes:
    """One message of the protocol: bytes up to a newline, or to the peer's end."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def request(paths: Paths, project: str, op: str, timeout: float = 2.0, **args: Any) -> dict[str, Any] | None:
    path = paths.supervisor_socket(project)
    if not path.exists():
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            unix_socket.connect(s, path)
            s.sendall(json.dumps({"op": op, **args}).encode() + b"\n")
            data = read_line(s)
    except OSError:
        return None
    try:
        reply: dict[str, Any] = json.loads(data or b"{}")
    except ValueError:
        return None
    return reply


def running(paths: Paths, project: str) -> bool:
    return _pid(paths, project) is not None


def ensure(paths: Paths, project: str, *, host_netns: str | None = None) -> None:
    """Start the stack's supervisor when none runs, else tell it to reload its containers."""
    if request(paths, project, "reload") is not None:
        return
    import subprocess  # only to start one: a running supervisor is told over its socket (~2 ms)

    run_dir = paths.stack_run(project)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "supervisor.log", "ab")  # noqa: SIM115 (handed to the child)
    cmd = [*isolated.command("orchestrator.reconcile.supervisor", site_packages=True),
           "--root", str(paths.root), "--project", project]
    if host_netns:
        cmd += ["--host-netns", host_netns]
    with log:
        subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True, close_fds=True)


def shutdown(paths: Paths, project: str, timeout: float = 3.0) -> None:
    pid = _pid(paths, project)
    if pid is None:
        return
    if request(paths, project, "shutdown") is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.005)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
