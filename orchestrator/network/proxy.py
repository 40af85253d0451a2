"""The userland port proxy: one listening socket per published port, following ``net_ports``.

Why userland and not kernel NAT is measured in docs/networking.md. In short: it reaches the
container from 127.0.0.1, the host's own addresses, IPv6 host addresses and other containers
without ``route_localnet``, hairpin NAT or ``ip_forward`` on the host, and it is removed with
its process. It runs in the stack's network service, apart from the supervisor, so restarting
the supervisor or the CLI does not drop a single connection.

Listening sockets and UDP sessions wait in the service's reactor; each forwarded TCP connection
gets a thread per direction, blocked in ``recv`` (no polling), which also keeps the copy loop as
short as a copy loop can be.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from orchestrator.network.ports import PortBinding, project_bindings
from orchestrator.network.reactor import bind_reported, opened, spawn

if TYPE_CHECKING:
    from orchestrator.network.reactor import Reactor

CONNECT_TIMEOUT = 5.0
UDP_IDLE = 60.0
BUFSIZE = 65536
Key = tuple[str, int, str]  # host_ip, host_port, protocol: one listener each, its target may change
Peer = tuple[str, int]


def _key(b: PortBinding) -> Key:
    return (b.host_ip, b.host_port, b.protocol)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    """Copy until EOF or an error, then pass the EOF on (the other direction may still flow)."""
    try:
        while True:
            chunk = src.recv(BUFSIZE)
            if not chunk:
                break
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


class _UdpSession:
    """One client of a published UDP port: its own connected socket to the container."""

    def __init__(self, up: socket.socket, now: float) -> None:
        self.up = up
        self.last = now


class PortForwarder:
    def __init__(self, conn: sqlite3.Connection, project: str, reactor: Reactor | None = None) -> None:
        self.conn = conn  # the caller's thread's only: handlers in the reactor read ``_targets``
        self.project = project
        self.reactor = reactor
        self._socks: dict[Key, socket.socket] = {}
        self._targets: dict[Key, PortBinding] = {}
        self._sessions: dict[Key, dict[Peer, _UdpSession]] = {}  # touched in the reactor's thread only
        self.failed: dict[Key, str] = {}
        self.accept: Callable[[PortBinding], bool] = lambda b: True  # which bindings are the proxy's
        self._ticking = False

    # ---- tcp ------------------------------------------------------------------------------------

    def _on_accept(self, listener: socket.socket, key: Key) -> None:
        try:
            client, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        spawn(lambda: self._forward_tcp(client, key), "port-tcp")

    def _forward_tcp(self, client: socket.socket, key: Key) -> None:
        with client:
            t = self._targets.get(key)
            if t is None:
                return
            try:
                backend = socket.create_connection((t.container_ip, t.container_port), timeout=CONNECT_TIMEOUT)
            except OSError:
                return  # the client sees the connection close, as with a stopped container
            with backend:
                backend.settimeout(None)
                client.settimeout(None)
                backend.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                back = threading.Thread(target=_pipe, args=(backend, client), name="port-tcp-back", daemon=True)
                back.start()
                _pipe(client, backend)
                back.join()

    # ---- udp ------------------------------------------------------------------------------------

    def _on_datagram(self, sock: socket.socket, key: Key) -> None:
        try:
            data, peer = sock.recvfrom(BUFSIZE)
        except OSError:  # BlockingIOError included: another wake-up took the datagram
            return
        sessions = self._sessions.setdefault(key, {})
        client = (str(peer[0]), int(peer[1]))
        sess = sessions.get(client)
        t = self._targets.get(key)
        stamp = time.monotonic()
        if sess is None and t is not None:
            target = (t.container_ip, t.container_port)
            try:
                up = opened(t.container_ip, socket.SOCK_DGRAM, lambda sock: sock.connect(target))
            except OSError:
                return
            sess = sessions[client] = _UdpSession(up, stamp)
            assert self.reactor is not None
            self.reactor.watch(up, lambda: self._on_reply(sock, sess, client))
        if sess is None:
            return
        sess.last = stamp
        with contextlib.suppress(OSError):
            sess.up.send(data)

    def _on_reply(self, sock: socket.socket, sess: _UdpSession, client: Peer) -> None:
        try:
            data = sess.up.recv(BUFSIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # ICMP unreachable from a container not yet listening
        sess.last = time.monotonic()
        with contextlib.suppress(OSError):
            sock.sendto(data, client)

    def _expire(self, now: float) -> None:
        assert self.reactor is not None
        for sessions in self._sessions.values():
            for client, sess in list(sessions.items()):
                if now - sess.last >= UDP_IDLE:
                    self.reactor.forget(sess.up)
                    del sessions[client]

    def _drop(self, key: Key) -> None:
        """In the reactor: the listener and every session of a binding that went."""
        assert self.reactor is not None
        for sess in self._sessions.pop(key, {}).values():
            self.reactor.forget(sess.up)

    # ---- following the table --------------------------------------------------------------------

    def _bind(self, b: PortBinding) -> socket.socket:
        address = (b.host_ip, b.host_port)
        if b.protocol != "tcp":
            return opened(b.host_ip, socket.SOCK_DGRAM, lambda sock: sock.bind(address))

        def listening(sock: socket.socket) -> None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)

        return opened(b.host_ip, socket.SOCK_STREAM, listening)

    def sync(self) -> bool:
        """Follow the table: bound before this returns; False while a binding could not be bound
        (another program holds the port): the caller tries again soon."""
        reactor = self.reactor
        assert reactor is not None
        if not self._ticking:
            reactor.every_tick(self._expire)
            self._ticking = True
        want = {_key(b): b for b in project_bindings(self.conn, self.project) if self.accept(b)}
        for gone in set(self._socks) - set(want):
            reactor.remove(self._socks.pop(gone))
            reactor.call(lambda gone=gone: self._drop(gone))  # type: ignore[misc]
            self.failed.pop(gone, None)
            self._targets.pop(gone, None)
        self._targets.update(want)
        ok = True
        for key in set(want) - set(self._socks):
            b = want[key]
            sock = bind_reported(self.failed, key, f"ports: cannot listen on {b.describe()}",
                                 lambda b=b: self._bind(b))  # type: ignore[misc]
            if sock is None:
                ok = False
                continue
            self._socks[key] = sock
            if b.protocol == "tcp":
                reactor.add(sock, lambda sock=sock, key=key: self._on_accept(sock, key))  # type: ignore[misc]
            else:
                reactor.add(sock, lambda sock=sock, key=key: self._on_datagram(sock, key))  # type: ignore[misc]
        return ok

    def close(self) -> None:
        """Let go of every listening socket now (the reactor must be stopped)."""
        for sock in self._socks.values():
            sock.close()
        self._socks.clear()
        for sessions in self._sessions.values():
            for sess in sessions.values():
                sess.up.close()
        self._sessions.clear()
