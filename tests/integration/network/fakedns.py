"""A stand-in upstream resolver on 127.0.0.x inside the test's host namespace (there is no internet)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from tests.integration.network.nethelpers import sock_in

KNOWN = {"example.test.": "10.231.250.250"}


class FakeUpstream:
    def __init__(self, host_ns: str, addr: str = "127.0.0.77") -> None:
        self.addr = addr
        self.sock = sock_in(host_ns, socket.SOCK_DGRAM)
        self.sock.bind((addr, 53))
        self.sock.settimeout(0.2)
        self.queries: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            q = DNSRecord.parse(data)
            name = str(q.q.qname)
            self.queries.append(name)
            reply = q.reply()
            if name in KNOWN and q.q.qtype == QTYPE.A:
                reply.add_answer(RR(q.q.qname, QTYPE.A, rdata=A(KNOWN[name]), ttl=60))
            elif name not in KNOWN:
                reply.header.rcode = RCODE.NXDOMAIN
            self.sock.sendto(reply.pack(), peer)

    def resolv_conf(self, tmp: Path) -> Path:
        p = tmp / "upstream-resolv.conf"
        p.write_text(f"nameserver {self.addr}\nsearch corp.test\n")
        return p

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
