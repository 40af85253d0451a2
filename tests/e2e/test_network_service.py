"""The stack's network service as ``up`` relies on it: a published port passes from a removed
container to its replacement while the service still holds it, and a service that died (crash,
OOM kill, kill -9) comes back with the next ``up`` even when no container needs creating."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from tests.e2e.conftest import Host


def _stack(project: str, port: int) -> str:
    return f"""
name: {project}
services:
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "80", "-h", "/"]
    ports: ["{port}:80"]
"""


def _service_pid(host: Host, project: str) -> int | None:
    try:
        pid = int((host.root / "run" / "stacks" / project / "network.pid").read_text())
    except (OSError, ValueError):
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return pid if b"orchestrator.network.service" in fh.read() else None
    except FileNotFoundError:
        return None


def _bind_fails(host: Host, port: int) -> bool:
    probe = f"import socket; socket.socket().bind(('0.0.0.0', {port}))"
    res = subprocess.run(["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-c", probe],
                         capture_output=True, text=True, timeout=30)
    return res.returncode != 0 and "Address already in use" in res.stderr


def _kill(pid: int) -> None:
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


def test_replacement_gets_the_port_the_service_still_held(host: Host) -> None:
    f = str(host.write("compose.yaml", _stack("e2ehandover", 28192)))
    host.pystack("-f", f, "up", "-d")
    assert host.http("http://127.0.0.1:28192/etc/hostname").strip()
    service = _service_pid(host, "e2ehandover")
    assert service is not None
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


def test_up_restarts_a_dead_network_service(host: Host) -> None:
    f = str(host.write("compose.yaml", _stack("e2erecover", 28193)))
    host.pystack("-f", f, "up", "-d")
    assert host.http("http://127.0.0.1:28193/etc/hostname").strip()

    pid = _service_pid(host, "e2erecover")
    assert pid is not None
    _kill(pid)  # nothing to create or start: the plan is empty
    host.pystack("-f", f, "up", "-d")
    pid = _service_pid(host, "e2erecover")
    assert pid is not None

    host.pystack("-f", f, "stop", "-t", "0", "web")
    _kill(pid)  # only a start to do
    host.pystack("-f", f, "up", "-d")
    assert _service_pid(host, "e2erecover") is not None
    assert host.http("http://127.0.0.1:28193/etc/hostname").strip()


def test_a_published_range_gives_each_replica_a_free_port_of_it(host: Host) -> None:
    """``7000-7010:80`` publishes one port of the range per container, as Docker picks them: the first
    free, skipping one something else holds; when the range is used up, the error says so."""
    f = str(host.write("compose.yaml", """
name: e2erange
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "hostname > /tmp/i && httpd -f -p 80 -h /tmp"]
    scale: 2
    ports: ["28200-28202:80"]
"""))
    squatter = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-c",
         "import socket,time; s=socket.socket(); s.bind(('0.0.0.0', 28201)); s.listen(); time.sleep(120)"])
    try:
        time.sleep(0.3)
        host.pystack("-f", f, "up", "-d")
        got = {host.pystack("-f", f, "port", "--index", str(i), "web", "80").stdout.strip() for i in (1, 2)}
        assert got == {"0.0.0.0:28200", "0.0.0.0:28202"}
        names = {host.http(f"http://127.0.0.1:{p}/i").strip() for p in (28200, 28202)}
        assert len(names) == 2 and "" not in names  # two containers answer, one on each port
        res = host.pystack("-f", f, "up", "-d", "--scale", "web=3", check=False)
        assert res.returncode != 0 and "Traceback" not in res.stderr
        assert "cannot publish port 0.0.0.0:28200-28202/tcp: no port of the range is free" in res.stderr
    finally:
        squatter.kill()
        squatter.wait()
        host.pystack("-f", f, "down", "-t", "0")


def _service_processes(project: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    cmd = fh.read().split(b"\0")
            except OSError:
                continue
            if b"orchestrator.network.service" in cmd and project.encode() in cmd:
                found.append(int(entry))
    return found


def test_an_up_that_fails_before_any_container_leaves_no_network_service(host: Host) -> None:
    # up starts the stack's network service first thing; the port check fails it afterwards
    holder = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-c",
         "import socket, sys, time; s = socket.socket(); s.bind(('0.0.0.0', 28211)); s.listen();"
         " print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        f = str(host.write("compose.yaml", _stack("e2enoleftover", 28211)))
        res = host.pystack("-f", f, "up", "-d", check=False)
        assert res.returncode != 0
        assert "28211" in res.stderr and "Traceback" not in res.stderr
        assert _service_processes("e2enoleftover") == []
        assert _service_pid(host, "e2enoleftover") is None
    finally:
        holder.kill()
        holder.wait()
    # and once the port is free, the same up works
    host.pystack("-f", f, "up", "-d")
    assert host.http("http://127.0.0.1:28211/etc/hostname").strip()
    assert len(_service_processes("e2enoleftover")) == 1
