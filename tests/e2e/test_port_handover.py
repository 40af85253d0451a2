"""A published port passes from a removed container to its replacement while the stack's network
service still holds it: wiring asks the service to re-read the state, then binds again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from tests.e2e.conftest import Host

STACK = """
name: e2ehandover
services:
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "80", "-h", "/"]
    ports: ["28192:80"]
"""


def test_replacement_gets_the_port_the_service_still_held(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK))
    host.pystack("-f", f, "up", "-d")
    assert host.http("http://127.0.0.1:28192/etc/hostname").strip()
    service = int((host.root / "run" / "stacks" / "e2ehandover" / "network.pid").read_text())
    os.kill(service, signal.SIGSTOP)  # it keeps the port until it can look at the state again
    resume = threading.Timer(0.5, os.kill, (service, signal.SIGCONT))
    try:
        host.pystack("-f", f, "stop", "-t", "0", "web")
        host.pystack("-f", f, "rm", "-f", "web")
        held = _bind_fails(host, 28192)
        resume.start()
        res = host.pystack("-f", f, "up", "-d", check=False)
    finally:
        resume.cancel()
        os.kill(service, signal.SIGCONT)
    assert res.returncode == 0, res.stderr
    assert host.http("http://127.0.0.1:28192/etc/hostname").strip()
    assert held  # the case under test: the port was still held when up began


def _bind_fails(host: Host, port: int) -> bool:
    probe = f"import socket; socket.socket().bind(('0.0.0.0', {port}))"
    res = subprocess.run(["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-c", probe],
                         capture_output=True, text=True, timeout=30)
    return res.returncode != 0 and "Address already in use" in res.stderr
