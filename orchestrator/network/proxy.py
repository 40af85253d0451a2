"""The userland port proxy: one anyio listener per published port, following ``net_ports``.

Why userland and not kernel NAT is measured in docs/networking.md. In short: it reaches the
container from 127.0.0.1, the host's own addresses, IPv6 host addresses and other containers
without ``route_localnet``, hairpin NAT or ``ip_forward`` on the host, and it is removed with
its process. It runs in the stack's network service, apart from the supervisor, so restarting
the supervisor or the CLI does not drop a single connection.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import sys
import time
from collections.abc import Callable
from typing import Literal

import anyio
from anyio.abc import ConnectedUDPSocket, SocketStream, TaskGroup, TaskStatus, UDPSocket

from orchestrator.network.ports import PortBinding, project_bindings

CONNECT_TIMEOUT = 5.0
UDP_IDLE = 60.0
BUFSIZE = 65536
Key = tuple[str, int, str]  # host_ip, host_port, protocol: one listener each, its target may change


def _key(b: PortBinding) -> Key:
    return (b.host_ip, b.host_port, b.protocol)


async def _pipe(src: SocketStream, dst: SocketStream) -> None:
    try:
        async for chunk in src:
            await dst.send(chunk)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass
    finally:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            await dst.send_eof()


class PortForwarder:
    def __init__(self, conn: sqlite3.Connection, project: str) -> None:
        self.conn = conn
        self.project = project
        self._scopes: dict[Key, anyio.CancelScope] = {}
        self._targets: dict[Key, PortBinding] = {}
        self.failed: dict[Key, str] = {}
        self.accept: Callable[[PortBinding], bool] = lambda b: True  # which bindings are the proxy's

    # ---- tcp ------------------------------------------------------------------------------------

    async def _tcp(self, b: PortBinding, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await anyio.create_tcp_listener(local_host=b.host_ip, local_port=b.host_port, reuse_port=False)
        async with listener:
            task_status.started()

            async def serve(client: SocketStream) -> None:
                async with client:
                    t = self._targets.get(_key(b))
                    if t is None:
                        return
                    try:
                        with anyio.fail_after(CONNECT_TIMEOUT):
                            backend = await anyio.connect_tcp(t.container_ip, t.container_port)
                    except (TimeoutError, OSError):
                        return  # the client sees the connection close, as with a stopped container
                    async with backend, anyio.create_task_group() as tg:
                        backend.extra(anyio.abc.SocketAttribute.raw_socket).setsockopt(
                            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
                        )
                        tg.start_soon(_pipe, client, backend)
                        tg.start_soon(_pipe, backend, client)

            await listener.serve(serve)

    # ---- udp ------------------------------------------------------------------------------------

    async def _udp(self, b: PortBinding, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        fam: Literal[socket.AddressFamily.AF_INET, socket.AddressFamily.AF_INET6] = (
            socket.AF_INET6 if ":" in b.host_ip else socket.AF_INET
        )
        async with await anyio.create_udp_socket(family=fam, local_host=b.host_ip, local_port=b.host_port) as sock:
            task_status.started()
            sessions: dict[tuple[str, int], tuple[ConnectedUDPSocket, list[float]]] = {}
            async with anyio.create_task_group() as tg:
                async for data, peer in sock:
                    key = (str(peer[0]), int(peer[1]))
                    sess = sessions.get(key)
                    t = self._targets.get(_key(b))
                    if sess is None and t is not None:
                        try:
                            up = await anyio.create_connected_udp_socket(t.container_ip, t.container_port)
                        except OSError:
                            continue
                        sess = (up, [time.monotonic()])
                        sessions[key] = sess
                        tg.start_soon(self._udp_back, sock, up, key, sessions)
                    if sess is None:
                        continue
                    sess[1][0] = time.monotonic()
                    with contextlib.suppress(OSError):
                        await sess[0].send(data)

    async def _udp_back(
        self,
        sock: UDPSocket,
        up: ConnectedUDPSocket,
        key: tuple[str, int],
        sessions: dict[tuple[str, int], tuple[ConnectedUDPSocket, list[float]]],
    ) -> None:
        async with up:
            while True:
                last = sessions[key][1][0]
                with anyio.move_on_after(max(0.1, UDP_IDLE - (time.monotonic() - last))):
                    try:
                        data = await up.receive()
                    except OSError:
                        continue  # ICMP unreachable from a container not yet listening
                    await sock.sendto(data, key[0], key[1])
                    continue
                if time.monotonic() - sessions[key][1][0] >= UDP_IDLE:
                    break
        sessions.pop(key, None)

    # ---- following the table --------------------------------------------------------------------

    async def _run(self, b: PortBinding, scope: anyio.CancelScope, tried: anyio.Event) -> None:
        with scope:
            while True:
                try:
                    async with anyio.create_task_group() as tg:
                        await tg.start(self._tcp if b.protocol == "tcp" else self._udp, b)
                        self.failed.pop(_key(b), None)
                        tried.set()
                except* OSError as group:
                    msg = str(group.exceptions[0])
                    if self.failed.get(_key(b)) != msg:
                        print(f"ports: cannot listen on {b.describe()}: {msg}", file=sys.stderr)
                    self.failed[_key(b)] = msg
                tried.set()
                await anyio.sleep(1.0)

    def sync(self, tg: TaskGroup) -> list[anyio.Event]:
        """Follow the table; one event per new binding, set once it listens or its first try failed."""
        want = {_key(b): b for b in project_bindings(self.conn, self.project) if self.accept(b)}
        for gone in set(self._scopes) - set(want):
            self._scopes.pop(gone).cancel()
            self.failed.pop(gone, None)
            self._targets.pop(gone, None)
        self._targets.update(want)
        tried: list[anyio.Event] = []
        for key in set(want) - set(self._scopes):
            scope = anyio.CancelScope()
            self._scopes[key] = scope
            tried.append(anyio.Event())
            tg.start_soon(self._run, want[key], scope, tried[-1])
        return tried

    async def serve(self, *, poll: float = 0.25) -> None:
        """Forward every binding of the project until cancelled, re-reading the table on change."""
        async with anyio.create_task_group() as tg:
            version = -1
            while True:
                v = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
                if v != version:
                    version = v
                    self.sync(tg)
                await anyio.sleep(poll)
