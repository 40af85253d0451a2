"""Published ports: the bindings' records, the up-front "port in use" check, and lookups.

The forwarding itself is :mod:`proxy` (a userland proxy in the stack's network service; see
docs/networking.md for the measurement behind that choice). Bindings live in ``net_ports`` so
the proxy, ``pystack port`` and cleanup all read one source.
"""

from __future__ import annotations

import ipaddress
import socket
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.errors import NetworkFailure
from orchestrator.network import schema as _schema
from orchestrator.state.db import transaction

_ = _schema


@dataclass(frozen=True)
class PortBinding:
    """A published port as the proxy serves it: host side, container side and the protocol."""
    host_ip: str
    host_port: int  # 0: pick a free port in check_ports_free
    container_ip: str
    container_port: int
    protocol: str = "tcp"
    host_port_max: int = 0  # above host_port: pick the first free port of host_port..host_port_max

    def describe(self) -> str:
        host = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        ports = f"{self.host_port}-{self.host_port_max}" if self.ranged else str(self.host_port)
        return f"{host}:{ports}/{self.protocol}"

    @property
    def ranged(self) -> bool:
        return self.host_port_max > self.host_port


class PortInUse(NetworkFailure):
    """A host port is taken; ``binding`` says which, so the caller can name the service."""

    def __init__(self, binding: PortBinding, reason: str, service: str | None = None) -> None:
        self.binding = binding
        self.reason = reason
        self.service = service
        who = f"service {service}: " if service else ""
        super().__init__(f"{who}cannot publish port {binding.describe()}: {reason}")

    def for_service(self, service: str) -> PortInUse:
        return PortInUse(self.binding, self.reason, service)


def _family(ip: str) -> int:
    try:
        return socket.AF_INET6 if isinstance(ipaddress.ip_address(ip), ipaddress.IPv6Address) else socket.AF_INET
    except ValueError:
        raise NetworkFailure(f"host_ip {ip!r} is not an IP address") from None


def _probe(b: PortBinding) -> int:
    """Bind like the proxy will; returns the port actually bound (for port 0)."""
    kind = socket.SOCK_STREAM if b.protocol == "tcp" else socket.SOCK_DGRAM
    fam = _family(b.host_ip)
    with socket.socket(fam, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind((b.host_ip, b.host_port))
            if kind == socket.SOCK_STREAM:
                s.listen(1)
        except OSError as exc:
            raise PortInUse(b, exc.strerror or str(exc)) from None
        return int(s.getsockname()[1])


def _same_address(a: str, b: str) -> bool:
    """Two bindings' host addresses overlap: equal, or either is a wildcard."""
    return a == b or "0.0.0.0" in (a, b) or "::" in (a, b)


def _first_free(b: PortBinding, taken: set[int]) -> PortBinding:
    for port in range(b.host_port, b.host_port_max + 1):
        if port in taken:
            continue
        one = replace(b, host_port=port, host_port_max=0)
        try:
            _probe(one)
        except PortInUse:
            continue
        return one
    raise PortInUse(b, "no port of the range is free")


def check_ports_free(
    bindings: list[PortBinding],
    *,
    host_netns: str | None = None,
    conn: sqlite3.Connection | None = None,
    project: str | None = None,
) -> list[PortBinding]:
    """Fail with :class:`PortInUse` before anything is created; returns bindings with port 0 resolved
    and a range (``7000-7010:80``) resolved to its first free port, as Docker picks one.

    Ports that this project's own proxy already holds (rows in ``net_ports`` with ``project``)
    count as free, so a second ``up`` does not trip over the first; a range skips them, since the
    holder is another container (a replica, say) of the project.
    """
    if b := next((b for b in bindings if b.protocol not in ("tcp", "udp")), None):
        raise NetworkFailure(f"port {b.describe()}: protocol must be tcp or udp")
    seen: set[tuple[str, int, str]] = set()
    for b in bindings:
        key = (b.host_ip, b.host_port, b.protocol)
        if b.host_port and not b.ranged and key in seen:
            raise PortInUse(b, "published twice")
        seen.add(key)
    own: set[tuple[str, int, str]] = set()
    taken: dict[PortBinding, set[int]] = {b: set() for b in bindings if b.ranged}
    if conn is not None:
        for r in conn.execute("SELECT * FROM net_ports"):
            same = [b for b in bindings if b.protocol == r["protocol"] and _same_address(b.host_ip, r["host_ip"])]
            for b in same:
                if b.ranged:
                    taken[b].add(r["host_port"])
            if r["project"] == project:
                own.add((r["host_ip"], r["host_port"], r["protocol"]))
                continue
            for b in same:  # another stack's port, even while its kernel rules hold no socket
                if not b.ranged and b.host_port == r["host_port"]:
                    raise PortInUse(b, f"already published by service {r['service']} of stack {r['project']}")

    def probe_all() -> list[PortBinding]:
        out: list[PortBinding] = []
        for b in bindings:
            if b.ranged:
                out.append(_first_free(b, taken[b] | {o.host_port for o in out if o.protocol == b.protocol}))
            elif (b.host_ip, b.host_port, b.protocol) in own:
                out.append(b)
            else:
                out.append(replace(b, host_port=_probe(b)))
        return out

    if host_netns is None:
        return probe_all()
    from orchestrator.network import nsutil

    return nsutil.run_in(Path("/run/netns") / host_netns, probe_all)


def register_ports(
    conn: sqlite3.Connection,
    project: str,
    service: str,
    container_id: str,
    container_name: str,
    bindings: list[PortBinding],
) -> None:
    with transaction(conn) as c:
        for b in bindings:
            clash = c.execute(
                "SELECT service, container_id FROM net_ports WHERE host_ip=? AND host_port=? AND protocol=?",
                (b.host_ip, b.host_port, b.protocol),
            ).fetchone()
            if clash is not None and clash["container_id"] != container_id:
                raise PortInUse(b, f"already published by service {clash['service']}", service)
            c.execute(
                "INSERT INTO net_ports (project, service, container_id, container_name, host_ip, host_port,"
                " container_ip, container_port, protocol) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(host_ip, host_port, protocol) DO UPDATE SET container_ip=excluded.container_ip,"
                " container_port=excluded.container_port",
                (
                    project,
                    service,
                    container_id,
                    container_name,
                    b.host_ip,
                    b.host_port,
                    b.container_ip,
                    b.container_port,
                    b.protocol,
                ),
            )


def unregister_ports(conn: sqlite3.Connection, container_id: str) -> None:
    with transaction(conn) as c:
        c.execute("DELETE FROM net_ports WHERE container_id=?", (container_id,))


def _binding(r: sqlite3.Row) -> PortBinding:
    return PortBinding(r["host_ip"], r["host_port"], r["container_ip"], r["container_port"], r["protocol"])


def project_bindings(conn: sqlite3.Connection, project: str) -> list[PortBinding]:
    rows = conn.execute(
        "SELECT * FROM net_ports WHERE project=? ORDER BY host_port, protocol, host_ip", (project,)
    ).fetchall()
    return [_binding(r) for r in rows]


def lookup_binding(
    conn: sqlite3.Connection, project: str, service_or_container: str, port: int, protocol: str = "tcp"
) -> PortBinding | None:
    """What ``pystack port SERVICE PORT`` prints: the first replica's binding of ``port``."""
    row = conn.execute(
        "SELECT * FROM net_ports WHERE project=? AND container_port=? AND protocol=?"
        " AND (service=? OR container_name=? OR container_id=?) ORDER BY container_name, rowid LIMIT 1",
        (project, port, protocol, service_or_container, service_or_container, service_or_container),
    ).fetchone()
    return _binding(row) if row else None


def __getattr__(name: str) -> object:
    """``ports.PortForwarder`` without making every importer of this module load the proxy."""
    if name == "PortForwarder":
        from orchestrator.network.proxy import PortForwarder

        return PortForwarder
    raise AttributeError(name)
