"""``up`` brings back a stack's network service that died (crash, OOM kill, kill -9): DNS and
published ports must work again after an ``up`` even when no container needs creating."""

from __future__ import annotations

import os
import signal
import time

from tests.e2e.conftest import Host

STACK = """
name: e2erecover
services:
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "80", "-h", "/"]
    ports: ["28193:80"]
"""


def _kill_service(host: Host) -> None:
    pid = int((host.root / "run" / "stacks" / "e2erecover" / "network.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    for _ in range(200):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return
        except FileNotFoundError:
            return
        time.sleep(0.01)
    raise AssertionError(f"the network service {pid} did not die")


def _service_alive(host: Host) -> bool:
    try:
        pid = int((host.root / "run" / "stacks" / "e2erecover" / "network.pid").read_text())
    except (OSError, ValueError):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"orchestrator.network.service" in fh.read()
    except FileNotFoundError:
        return False


def test_up_restarts_a_dead_network_service(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK))
    host.pystack("-f", f, "up", "-d")
    assert host.http("http://127.0.0.1:28193/etc/hostname").strip()

    _kill_service(host)  # nothing to create or start: the plan is empty
    host.pystack("-f", f, "up", "-d")
    assert _service_alive(host)

    host.pystack("-f", f, "stop", "-t", "0", "web")
    _kill_service(host)  # only a start to do
    host.pystack("-f", f, "up", "-d")
    assert _service_alive(host)
    assert host.http("http://127.0.0.1:28193/etc/hostname").strip()
