"""Sockets made inside a namespace: a socket stays in the namespace it was created in.

Creating one in a thread that joined the container's namespace and using it from the test thread
is how these tests play "a process in the container" without forking (fast and deterministic).
"""

from __future__ import annotations

import socket
from pathlib import Path

from orchestrator.network import nsutil


def sock_in(ns: Path | str, kind: int = socket.SOCK_STREAM, family: int = socket.AF_INET) -> socket.socket:
    path = Path(ns) if "/" in str(ns) else Path("/run/netns") / str(ns)
    s = nsutil.run_in(path, lambda: socket.socket(family, kind))
    s.settimeout(3)
    return s


def tcp_listener(ns: Path | str, addr: str, port: int) -> socket.socket:
    s = sock_in(ns)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)
    return s


def tcp_roundtrip(
    client_ns: Path | str, server: socket.socket, addr: str, port: int, payload: bytes, family: int = socket.AF_INET
) -> bytes:
    c = sock_in(client_ns, family=family)
    try:
        c.connect((addr, port))
        conn, _ = server.accept()
        with conn:
            c.sendall(payload)
            got = conn.recv(1024)
            conn.sendall(got[::-1])
        return c.recv(1024)
    finally:
        c.close()


def can_connect(client_ns: Path | str, addr: str, port: int, timeout: float = 0.5) -> bool:
    c = sock_in(client_ns)
    c.settimeout(timeout)
    try:
        c.connect((addr, port))
        return True
    except OSError:
        return False
    finally:
        c.close()


def send_when_listening(client_ns: Path | str, addr: str, port: int, payload: bytes, tries: int = 100) -> bool:
    """Connect (retrying while the listener starts), send ``payload`` and close."""
    import time

    for _ in range(tries):
        c = sock_in(client_ns)
        try:
            c.connect((addr, port))
            c.sendall(payload)
            return True
        except ConnectionRefusedError:
            time.sleep(0.05)
        finally:
            c.close()
    return False


def udp_roundtrip(client_ns: Path | str, server: socket.socket, addr: str, port: int, payload: bytes) -> bytes:
    c = sock_in(client_ns, socket.SOCK_DGRAM)
    try:
        c.sendto(payload, (addr, port))
        data, peer = server.recvfrom(1024)
        server.sendto(data[::-1], peer)
        return c.recv(1024)
    finally:
        c.close()


def dns_query(
    client_ns: Path | str, server: str, name: str, qtype: str = "A", tcp: bool = False, timeout: float = 2.0
) -> tuple[str, list[str]]:
    """(rcode name, answers) of one query sent from inside ``client_ns``."""
    from dnslib import QTYPE, RCODE, DNSRecord

    q = DNSRecord.question(name, qtype).pack()
    s = sock_in(client_ns, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        if tcp:
            s.connect((server, 53))
            s.sendall(len(q).to_bytes(2, "big") + q)
            size = int.from_bytes(_recv_exact(s, 2), "big")
            data = _recv_exact(s, size)
        else:
            s.sendto(q, (server, 53))
            data = s.recv(4096)
    finally:
        s.close()
    r = DNSRecord.parse(data)
    return RCODE.get(r.header.rcode), [str(rr.rdata) for rr in r.rr if rr.rtype in (QTYPE.A, QTYPE.PTR)]


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("short read")
        buf += chunk
    return buf
