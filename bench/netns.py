"""Private network namespaces for the peers, and connecting to a port inside one.

podman's netavark turns on IP forwarding and adds NAT rules, and dockerd creates bridges: each peer runs
with its network namespace switched (``nsenter --net``) to one the bench creates and deletes, so the
host's forwarding, firewall and links are never touched. Published ports are then reached on 127.0.0.1
inside that namespace: a short-lived thread joins it with setns(2) before it connects.
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import threading
from pathlib import Path

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")


def create(name: str) -> Path:
    path = NETNS_DIR / name
    if not path.exists():
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True)
    return path


def delete(name: str) -> None:
    if (NETNS_DIR / name).exists():
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


def links(name: str | None) -> set[str]:
    argv = ["ip", "-o", "link", "show"] if name is None else ["ip", "-n", name, "-o", "link", "show"]
    res = subprocess.run(argv, capture_output=True, text=True, check=False)
    out = set()
    for line in res.stdout.splitlines():
        parts = line.split(":", 2)
        if len(parts) > 1:
            out.add(parts[1].strip().split("@")[0])
    return out


def _http_get(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            data = sock.recv(64)
            return data.startswith(b"HTTP/")
    except OSError:
        return False


def http_answers(port: int, netns: Path | None = None, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when an HTTP server answers ``GET /`` on host:port (inside ``netns`` when given)."""
    if netns is None:
        return _http_get(host, port, timeout)
    result = [False]

    def inside() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(netns, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                return
        finally:
            os.close(fd)
        result[0] = _http_get(host, port, timeout)

    t = threading.Thread(target=inside, daemon=True)
    t.start()
    t.join(timeout + 1)
    return result[0]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0
