"""The embedded DNS server of a stack: UDP and TCP on every bridge gateway of the project.

Local names come from the state database (see :mod:`records`), scoped by the asker's source
address. Everything else goes to the host's resolvers, except where waiting would only hurt:
a single-label name nobody registered, or any unknown name asked from an ``internal`` network
(which has no way out), gets NXDOMAIN at once — the "service name does not resolve, after a
five-second time-out" failure users report elsewhere. dnslib does the wire format.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from anyio.abc import SocketStream, TaskGroup, TaskStatus

from orchestrator.network.records import Listen, RecordView, register_dns, register_link, unregister_dns

if TYPE_CHECKING:
    from dnslib import DNSRecord

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
    ) -> None:
        self.conn = conn
        self.port = port
        servers, self.search = read_resolv_conf(resolv_conf)
        self.upstreams = list(upstreams) if upstreams is not None else servers
        self.view: RecordView | None = None
        self._scopes: dict[Listen, anyio.CancelScope] = {}

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

    async def _forward_udp(self, data: bytes) -> bytes | None:
        for server in self.upstreams:
            try:
                with anyio.fail_after(FORWARD_TIMEOUT):
                    async with await anyio.create_connected_udp_socket(server, 53) as s:
                        await s.send(data)
                        return await s.receive()
            except (TimeoutError, OSError):
                continue
        return None

    async def _forward_tcp(self, data: bytes) -> bytes | None:
        for server in self.upstreams:
            try:
                with anyio.fail_after(FORWARD_TIMEOUT * 2):
                    async with await anyio.connect_tcp(server, 53) as s:
                        await s.send(len(data).to_bytes(2, "big") + data)
                        return await _read_tcp_message(s)
            except (TimeoutError, OSError, anyio.EndOfStream, anyio.IncompleteRead):
                continue
        return None

    async def handle(self, data: bytes, listen: Listen, src: str, tcp: bool) -> bytes | None:
        # dnslib is imported by the first query (or by warm_up once the service is ready), not at
        # boot: its import is a fifth of the service's start-up, which every up waits for
        from dnslib import RCODE, DNSRecord

        try:
            query = DNSRecord.parse(data)
        except Exception:
            return None  # not DNS: drop, as real servers do
        if not query.questions:
            return None
        local = self.answer_local(query, listen, src)
        if local is not None:
            return bytes(local.pack())
        upstream = await (self._forward_tcp(data) if tcp else self._forward_udp(data))
        if upstream is not None:
            return upstream
        reply = query.reply()
        reply.header.rcode = RCODE.SERVFAIL
        return bytes(reply.pack())

    # ---- listening ------------------------------------------------------------------------------

    async def _udp(self, listen: Listen, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with await anyio.create_udp_socket(local_host=listen.gateway, local_port=self.port) as sock:
            task_status.started()
            async with anyio.create_task_group() as tg:
                async for data, (host, port) in sock:
                    tg.start_soon(self._udp_one, sock, data, listen, host, port)

    async def _udp_one(self, sock: anyio.abc.UDPSocket, data: bytes, listen: Listen, host: str, port: int) -> None:
        out = await self.handle(data, listen, host, tcp=False)
        if out is not None:
            await sock.sendto(out, host, port)

    async def _tcp(self, listen: Listen, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await anyio.create_tcp_listener(local_host=listen.gateway, local_port=self.port, reuse_port=False)
        async with listener:
            task_status.started()

            async def serve(stream: SocketStream) -> None:
                async with stream:
                    host = stream.extra(anyio.abc.SocketAttribute.remote_address)[0]
                    while True:
                        try:
                            with anyio.fail_after(10):
                                data = await _read_tcp_message(stream)
                        except (TimeoutError, anyio.EndOfStream, anyio.IncompleteRead, OSError):
                            return
                        out = await self.handle(data, listen, str(host), tcp=True)
                        if out is None:
                            return
                        await stream.send(len(out).to_bytes(2, "big") + out)

            await listener.serve(serve)

    async def _listen(self, listen: Listen, scope: anyio.CancelScope, tried: anyio.Event) -> None:
        with scope:
            while True:
                failed: list[BaseException] = []
                try:
                    async with anyio.create_task_group() as tg:
                        await tg.start(self._udp, listen)
                        await tg.start(self._tcp, listen)
                        tried.set()
                except* OSError as group:  # the gateway address may not be on the bridge yet
                    failed.extend(group.exceptions)
                tried.set()
                print(f"dns: cannot listen on {listen.gateway}:{self.port}: {failed[:1]}", file=sys.stderr)
                await anyio.sleep(0.5)

    def sync(self, tg: TaskGroup) -> list[anyio.Event]:
        """Listen on every ready network of the project, stop on removed ones.

        Returns one event per new listener, set once its sockets are bound (or its first attempt
        failed), so that the caller can say "ready" when it is, without guessing a delay.
        """
        assert self.view is not None
        want = set(self.view.listens())
        for gone in set(self._scopes) - want:
            self._scopes.pop(gone).cancel()
        tried: list[anyio.Event] = []
        for new in want - set(self._scopes):
            scope = anyio.CancelScope()
            self._scopes[new] = scope
            tried.append(anyio.Event())
            tg.start_soon(self._listen, new, scope, tried[-1])
        return tried

    async def serve(self, project: str, *, poll: float = 0.25) -> None:
        """Run until cancelled, following the project's networks as they come and go."""
        self.view = RecordView(self.conn, project)
        async with anyio.create_task_group() as tg:
            version = -1
            while True:
                v = self.view.version()
                if v != version:
                    version = v
                    self.sync(tg)
                await anyio.sleep(poll)


async def _read_tcp_message(stream: SocketStream | anyio.abc.ByteStream) -> bytes:
    buf = b""
    while len(buf) < 2:
        buf += await stream.receive(2 - len(buf))
    size = int.from_bytes(buf[:2], "big")
    data = buf[2:]
    while len(data) < size:
        data += await stream.receive(size - len(data))
    return data
