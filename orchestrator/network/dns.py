"""The embedded DNS server of a stack: UDP and TCP on every bridge gateway of the project.

Local names come from the state database (see :mod:`records`), scoped by the asker's source
address. Everything else goes to the host's resolvers, except where waiting would only hurt:
a single-label name nobody registered, or any unknown name asked from an ``internal`` network
(which has no way out), gets NXDOMAIN at once — the "service name does not resolve, after a
five-second time-out" failure users report elsewhere. dnslib does the wire format.

Listening sockets wait in the service's :class:`~orchestrator.network.reactor.Reactor`; a name we
own is answered there at once, a forwarded query or a TCP connection gets a thread of its own.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.network.reactor import bind_reported, family, opened, spawn
from orchestrator.network.records import Listen, RecordView, register_dns, register_link, unregister_dns

if TYPE_CHECKING:
    from dnslib import DNSRecord

    from orchestrator.network.reactor import Reactor

__all__ = ["DnsServer", "read_resolv_conf", "register_dns", "register_link", "unregister_dns"]

FORWARD_TIMEOUT = 1.0  # per upstream; clients time out at 5 s, so two upstreams still fit
LOCAL_TTL = 0  # containers come and go: never let a client cache an old address


def read_resolv_conf(path: str | Path = "/etc/resolv.conf") -> tuple[list[str], list[str]]:
    """(nameservers, search domains) of the host."""
    servers: list[str] = []
    search: list[str] = []
    try:
        text = Path(path).read_text()
    except OSError:
        return servers, search
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            servers.append(parts[1])
        elif parts and parts[0] in ("search", "domain"):
            search = [p.rstrip(".").lower() for p in parts[1:]]
    return servers, search


def _reverse_name(qname: str) -> str | None:
    labels = qname.rstrip(".").lower().split(".")
    if len(labels) == 6 and labels[-2:] == ["in-addr", "arpa"]:
        try:
            return str(ipaddress.IPv4Address(".".join(reversed(labels[:4]))))
        except ValueError:
            return None
    return None


class DnsServer:
    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        port: int = 53,
        resolv_conf: str | Path = "/etc/resolv.conf",
        upstreams: Sequence[str] | None = None,
        reactor: Reactor | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.conn = conn
        self.port = port
        servers, self.search = read_resolv_conf(resolv_conf)
        self.upstreams = list(upstreams) if upstreams is not None else servers
        self.view: RecordView | None = None
        self.reactor = reactor
        # the database connection and the view's cache are shared by the reactor, the TCP threads
        # and the service's main thread
        self.lock = lock or threading.RLock()
        self._socks: dict[Listen, list[socket.socket]] = {}
        self._failed: dict[Listen, str] = {}

    # ---- answering ------------------------------------------------------------------------------

    def answer_local(self, query: DNSRecord, listen: Listen, src: str) -> DNSRecord | None:
        """The reply for a name we own, an NXDOMAIN we are sure of, or None to forward."""
        from dnslib import PTR, QTYPE, RCODE, RR, A

        assert self.view is not None
        q = query.q
        qname = str(q.qname).rstrip(".").lower()
        reply = query.reply()
        reply.header.ra = 1
        rev = _reverse_name(qname)
        if rev is not None and q.qtype == QTYPE.PTR:
            found = self.view.reverse(rev, listen.network, src)
            if found:
                reply.add_answer(RR(q.qname, QTYPE.PTR, rdata=PTR(found[0] + "."), ttl=LOCAL_TTL))
                return reply
            return None
        candidates = [qname] + [qname[: -len(d) - 1] for d in self.search if qname.endswith("." + d)]
        for name in candidates:
            addrs = self.view.resolve(name, listen.network, src)
            if addrs is not None:
                if q.qtype in (QTYPE.A, QTYPE.ANY):
                    for a in addrs:
                        reply.add_answer(RR(q.qname, QTYPE.A, rdata=A(a), ttl=LOCAL_TTL))
                return reply  # NODATA for AAAA and the rest: the name exists, IPv4 only
        if listen.internal or "." not in qname or not self.upstreams:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        return None

    def _forward_udp(self, data: bytes) -> bytes | None:
        for server in self.upstreams:
            try:
                with socket.socket(family(server), socket.SOCK_DGRAM) as s:
                    s.settimeout(FORWARD_TIMEOUT)
                    s.connect((server, 53))
                    s.send(data)
                    return s.recv(65535)
            except OSError:  # a time-out included
                continue
        return None

    def _forward_tcp(self, data: bytes) -> bytes | None:
        for server in self.upstreams:
            try:
                with socket.create_connection((server, 53), timeout=FORWARD_TIMEOUT * 2) as s:
                    s.sendall(len(data).to_bytes(2, "big") + data)
                    return _read_tcp_message(s)
            except (OSError, EOFError):
                continue
        return None

    def _parse(self, data: bytes) -> DNSRecord | None:
        # dnslib is imported by the first query (or by the warm-up once the service is ready), not
        # at boot: its import is a fifth of the service's start-up, which every up waits for
        from dnslib import DNSRecord

        try:
            query = DNSRecord.parse(data)
        except Exception:
            return None  # not DNS: drop, as real servers do
        return query if query.questions else None

    def _local(self, query: DNSRecord, listen: Listen, src: str) -> bytes | None:
        with self.lock:
            local = self.answer_local(query, listen, src)
        return bytes(local.pack()) if local is not None else None

    def _remote(self, query: DNSRecord, data: bytes, tcp: bool) -> bytes:
        """The upstream's answer, or SERVFAIL; blocks up to a time-out per upstream."""
        from dnslib import RCODE

        upstream = self._forward_tcp(data) if tcp else self._forward_udp(data)
        if upstream is not None:
            return upstream
        reply = query.reply()
        reply.header.rcode = RCODE.SERVFAIL
        return bytes(reply.pack())

    def handle(self, data: bytes, listen: Listen, src: str, tcp: bool) -> bytes | None:
        """The reply to one message, None to drop it; may block while an upstream answers."""
        query = self._parse(data)
        if query is None:
            return None
        local = self._local(query, listen, src)
        return local if local is not None else self._remote(query, data, tcp)

    # ---- listening ------------------------------------------------------------------------------

    def _on_udp(self, sock: socket.socket, listen: Listen) -> None:
        """In the reactor: names we own are answered at once, the rest in a thread of its own."""
        try:
            data, peer = sock.recvfrom(65535)
        except (BlockingIOError, InterruptedError):
            return
        query = self._parse(data)
        if query is None:
            return
        local = self._local(query, listen, peer[0])
        if local is not None:
            with contextlib.suppress(OSError):
                sock.sendto(local, peer)
            return

        def forward() -> None:
            with contextlib.suppress(OSError):  # the socket closed meanwhile (the network went)
                sock.sendto(self._remote(query, data, tcp=False), peer)

        spawn(forward, "dns-forward")

    def _on_accept(self, listener: socket.socket, listen: Listen) -> None:
        try:
            conn, peer = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        spawn(lambda: self._serve_tcp(conn, listen, str(peer[0])), "dns-tcp")

    def _serve_tcp(self, conn: socket.socket, listen: Listen, host: str) -> None:
        with conn:
            conn.settimeout(10)
            while True:
                try:
                    data = _read_tcp_message(conn)
                    out = self.handle(data, listen, host, tcp=True)
                    if out is None:
                        return
                    conn.sendall(len(out).to_bytes(2, "big") + out)
                except (OSError, EOFError):
                    return

    def _bind(self, listen: Listen) -> list[socket.socket]:
        address = (listen.gateway, self.port)

        def listening(sock: socket.socket) -> None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(64)

        udp = opened(listen.gateway, socket.SOCK_DGRAM, lambda sock: sock.bind(address))
        try:
            return [udp, opened(listen.gateway, socket.SOCK_STREAM, listening)]
        except OSError:
            udp.close()
            raise

    def sync(self) -> bool:
        """Listen on every ready network of the project and on no other.

        Sockets are bound before this returns, so a container started afterwards gets answers.
        False when a network's address could not be bound (it may not be on its bridge yet): the
        caller tries again soon.
        """
        assert self.view is not None and self.reactor is not None
        with self.lock:
            want = set(self.view.listens())
        for gone in set(self._socks) - want:
            for sock in self._socks.pop(gone):
                self.reactor.remove(sock)
            self._failed.pop(gone, None)
        ok = True
        for new in want - set(self._socks):
            socks = bind_reported(self._failed, new, f"dns: cannot listen on {new.gateway}:{self.port}",
                                  lambda new=new: self._bind(new))  # type: ignore[misc]
            if socks is None:
                ok = False
                continue
            udp, tcp = self._socks[new] = socks
            self.reactor.add(udp, lambda udp=udp, new=new: self._on_udp(udp, new))  # type: ignore[misc]
            self.reactor.add(tcp, lambda tcp=tcp, new=new: self._on_accept(tcp, new))  # type: ignore[misc]
        return ok

    def close(self) -> None:
        """Let go of every listening socket now (the reactor must be stopped)."""
        for socks in self._socks.values():
            for sock in socks:
                sock.close()
        self._socks.clear()


def _read_tcp_message(sock: socket.socket) -> bytes:
    """One length-prefixed DNS message; EOFError when the peer closes first."""
    size = int.from_bytes(_read_exactly(sock, 2), "big")
    return _read_exactly(sock, size)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf
