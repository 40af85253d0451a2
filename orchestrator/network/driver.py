"""The bridge network driver: networks, container namespaces, veth wiring, address leases.

Every step is "record, then act": the state database learns a bridge, namespace or veth name
(and an address lease) in a ``BEGIN IMMEDIATE`` transaction before the kernel object exists, so
a ``kill -9`` at any point leaves a row that :meth:`NetworkDriver.cleanup_stack` or the next
call can act on. Kernel calls are idempotent, so finishing half-done work is just doing it again.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast as typing_cast

from orchestrator.errors import NetworkFailure
from orchestrator.network import ipam, links, names, nsutil
from orchestrator.network import schema as _schema  # registers the net_* tables
from orchestrator.network.rtnl import Rtnl
from orchestrator.paths import Paths
from orchestrator.state.db import connect, transaction

_ = _schema


@dataclass
class NetworkSpec:
    """A network as the stack file asks for it; the driver picks what it leaves open (subnet, gateway)."""
    name: str
    project: str
    subnet: str | None = None
    gateway: str | None = None
    ip_range: str | None = None
    internal: bool = False
    mtu: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    external: bool = False


@dataclass
class NetworkInfo:
    """A network as recorded in the state database, for ``network ls`` and for wiring containers onto it."""
    name: str
    bridge: str
    subnet: str
    gateway: str
    internal: bool
    project: str = ""
    mtu: int | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Attachment:
    """What a container asks of one network: the names it answers to there and an optional fixed address."""
    network: str
    aliases: list[str] = field(default_factory=list)
    ipv4_address: str | None = None
    mac_address: str | None = None
    priority: int = 0
    gw_priority: int = 0


@dataclass
class Endpoint:
    """A container's wired interface on one network, as the state database records it when it is wired."""
    network: str
    interface: str
    address: str
    prefixlen: int
    gateway: str
    mac: str
    host_veth: str


MTU_OPTION = "com.docker.network.driver.mtu"


def mtu_from_driver_opts(opts: dict[str, str]) -> int | None:
    """``driver_opts`` → MTU, as Docker's bridge driver reads it."""
    raw = opts.get(MTU_OPTION)
    if raw is None:
        return None
    try:
        mtu = int(str(raw))
    except ValueError:
        raise NetworkFailure(f"driver_opts {MTU_OPTION}: {raw!r} is not a number") from None
    if not 68 <= mtu <= 65535:
        raise NetworkFailure(f"driver_opts {MTU_OPTION}: {mtu} is outside 68..65535")
    return mtu


def _info(row: sqlite3.Row) -> NetworkInfo:
    return NetworkInfo(
        name=row["name"],
        bridge=row["bridge"],
        subnet=row["subnet"],
        gateway=row["gateway"],
        internal=bool(row["internal"]),
        project=row["project"],
        mtu=row["mtu"],
        labels=json.loads(row["labels"]),
    )


def order_attachments(attachments: list[Attachment]) -> list[Attachment]:
    """Interface order: higher ``priority`` first, ties in the order given (Compose's rule)."""
    return sorted(attachments, key=lambda a: -a.priority)


def default_gateway_index(ordered: list[Attachment], internal: list[bool]) -> int | None:
    """The highest ``gw_priority`` among non-internal networks; ties go to the first interface."""
    best: int | None = None
    for i, a in enumerate(ordered):
        if internal[i]:
            continue
        if best is None or a.gw_priority > ordered[best].gw_priority:
            best = i
    return best


VETH_LINGER = 2.0  # seconds a host veth may outlive its deleted namespace before it is deleted by hand


class NetworkDriver:
    def __init__(self, paths: Paths, *, host_netns: str | None = None, pool: str | None = None) -> None:
        self.paths = paths
        self.host_netns = host_netns
        self.pool = ipam.parse_net(pool or os.environ.get("PYSTACK_NET_POOL") or ipam.DEFAULT_POOL, "pool")
        self.prefix = int(os.environ.get("PYSTACK_NET_PREFIX") or ipam.DEFAULT_PREFIX)
        self._conn: sqlite3.Connection | None = None
        self._local = threading.local()
        self._opened: list[Rtnl] = []

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.paths.state_db)
        return self._conn

    def close(self) -> None:
        while self._opened:
            self._opened.pop().close()
        self._local = threading.local()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _host(self) -> Iterator[Rtnl]:
        """The host namespace's netlink socket, opened once per thread: a socket serves one thread
        at a time, and one opened in a named namespace costs a thread's setns round trip."""
        ipr = getattr(self._local, "ipr", None)
        if ipr is None:
            ipr = links.open_netlink(self.host_netns)
            self._local.ipr = ipr
            self._opened.append(ipr)
        yield ipr

    # ---- networks -------------------------------------------------------------------------------

    def get_network(self, name: str) -> NetworkInfo | None:
        row = self.conn.execute("SELECT * FROM net_networks WHERE name=?", (name,)).fetchone()
        return _info(row) if row else None

    def list_networks(self, project: str | None = None) -> list[NetworkInfo]:
        if project is None:
            rows = self.conn.execute("SELECT * FROM net_networks ORDER BY name").fetchall()
        else:
            rows = self.conn.execute("SELECT * FROM net_networks WHERE project=? ORDER BY name", (project,)).fetchall()
        return [_info(r) for r in rows]

    def ensure_network(self, spec: NetworkSpec) -> NetworkInfo:
        if spec.external:
            found = self.get_network(spec.name)
            if found is None:
                raise NetworkFailure(
                    f"network {spec.name} declared as external, but could not be found; "
                    f"create it with another stack first"
                )
            return found
        with self._host() as ipr:
            used_routes = links.used_networks(ipr)
            row = self._record_network(spec, used_routes)
            prefixlen = ipaddress.IPv4Network(row["subnet"]).prefixlen
            group = names.link_group(str(self.paths.root), spec.project) if spec.project else None
            links.ensure_bridge(ipr, row["bridge"], row["gateway"], prefixlen, row["mtu"], group)
        with transaction(self.conn) as c:  # behind the process's write lock, never SQLite's busy sleeps
            c.execute("UPDATE net_networks SET status='ready' WHERE name=?", (spec.name,))
        return _info(row)

    def _record_network(self, spec: NetworkSpec, routes: list[ipaddress.IPv4Network]) -> sqlite3.Row:
        root = str(self.paths.root)
        with transaction(self.conn) as c:
            row = c.execute("SELECT * FROM net_networks WHERE name=?", (spec.name,)).fetchone()
            if row is not None:
                if spec.subnet and ipam.parse_net(spec.subnet, "subnet") != ipaddress.IPv4Network(row["subnet"]):
                    raise NetworkFailure(
                        f"network {spec.name} exists with subnet {row['subnet']}, not {spec.subnet}; "
                        f"run `pystack down` to recreate it"
                    )
                return typing_cast(sqlite3.Row, row)
            ours = c.execute("SELECT name, subnet, bridge FROM net_networks").fetchall()
            bridges = {r["bridge"] for r in ours}
            mine = [ipaddress.IPv4Network(r["subnet"]) for r in ours]
            if spec.subnet:
                subnet = ipam.parse_net(spec.subnet, "subnet")
                ipam.check_free(subnet, [(f"network {r['name']}", ipaddress.IPv4Network(r["subnet"])) for r in ours])
                ipam.check_free(subnet, [("a route on the host", n) for n in routes])
            else:
                subnet = ipam.pick_subnet(self.pool, self.prefix, [*routes, *mine])
            plan = ipam.plan_ipam(subnet, spec.gateway, spec.ip_range)
            salt = 0
            bridge = names.bridge_name(root, spec.name)
            while bridge in bridges:
                salt += 1
                bridge = names.bridge_name(root, spec.name, salt)
            c.execute(
                "INSERT INTO net_networks (name, project, bridge, subnet, gateway, ip_range, internal, mtu,"
                " labels, status, created) VALUES (?,?,?,?,?,?,?,?,?,'creating',?)",
                (
                    spec.name,
                    spec.project,
                    bridge,
                    str(plan.subnet),
                    str(plan.gateway),
                    str(plan.ip_range) if plan.ip_range else None,
                    int(spec.internal),
                    spec.mtu,
                    json.dumps(spec.labels, sort_keys=True),
                    time.time(),
                ),
            )
            new = c.execute("SELECT * FROM net_networks WHERE name=?", (spec.name,)).fetchone()
            assert new is not None
            return typing_cast(sqlite3.Row, new)

    def remove_network(self, name: str, *, force: bool = False) -> None:
        row = self.conn.execute("SELECT * FROM net_networks WHERE name=?", (name,)).fetchone()
        if row is None:
            return
        users = self.conn.execute("SELECT container_id FROM net_endpoints WHERE network=?", (name,)).fetchall()
        if users and not force:
            raise NetworkFailure(
                f"network {name} is still used by {len(users)} container(s): {users[0]['container_id']}"
            )
        for u in users:
            self.detach(u["container_id"])
        with self._host() as ipr:
            links.delete_link(ipr, row["bridge"])
        with transaction(self.conn) as c:
            c.execute("DELETE FROM net_dns_records WHERE network=?", (name,))
            c.execute("DELETE FROM net_networks WHERE name=?", (name,))

    # ---- namespaces -----------------------------------------------------------------------------

    def netns_path(self, container_id: str) -> Path:
        row = self.conn.execute("SELECT name FROM net_netns WHERE container_id=?", (container_id,)).fetchone()
        return self.paths.netns / (row["name"] if row else names.netns_name(container_id))

    def create_netns(self, container_id: str, *, project: str | None = None) -> Path:
        name = names.netns_name(container_id)
        with transaction(self.conn) as c:
            c.execute(
                "INSERT INTO net_netns (container_id, name, project) VALUES (?,?,?)"
                " ON CONFLICT(container_id) DO UPDATE SET project=coalesce(excluded.project, project)",
                (container_id, name, project),
            )
        try:
            path = nsutil.create(name, self.paths.netns)
        except OSError as exc:
            raise NetworkFailure(f"cannot create network namespace {name}: {exc}") from None
        with transaction(self.conn) as c:  # behind the process's write lock, never SQLite's busy sleeps
            c.execute("UPDATE net_netns SET status='ready' WHERE container_id=?", (container_id,))
        return path

    def unpin_netns(self, container_id: str) -> None:
        """The namespace's pin only, its record kept: a ``down`` whose links are gone already
        forgets many containers' records at once (:meth:`forget_containers`)."""
        path = self.netns_path(container_id)
        try:
            nsutil.remove(path.name, path.parent)
        except OSError as exc:
            raise NetworkFailure(f"cannot remove network namespace {path}: {exc}") from None

    def forget_containers(self, container_ids: Sequence[str]) -> None:
        """The network records of containers whose namespaces and links are gone (endpoints and
        their leases, namespace, DNS names and link aliases, published ports), in one transaction."""
        if not container_ids:
            return
        ids = [(i,) for i in container_ids]
        with transaction(self.conn) as c:
            c.executemany("DELETE FROM net_endpoints WHERE container_id=?", ids)
            c.executemany("DELETE FROM net_netns WHERE container_id=?", ids)
            c.executemany("DELETE FROM net_dns_records WHERE container_id=?1 OR only_for=?1", ids)
            c.executemany("DELETE FROM net_ports WHERE container_id=?", ids)

    def delete_netns(self, container_id: str) -> None:
        self.unpin_netns(container_id)
        with transaction(self.conn) as c:  # behind the process's write lock, never SQLite's busy sleeps
            c.execute("DELETE FROM net_netns WHERE container_id=?", (container_id,))

    # ---- endpoints ------------------------------------------------------------------------------

    def attach(
        self, container_id: str, netns: Path, attachments: list[Attachment], *, project: str | None = None
    ) -> list[Endpoint]:
        from orchestrator.network.wiring import attach as _attach

        return _attach(self, container_id, netns, attachments, project)

    def endpoints(self, container_id: str) -> list[Endpoint]:
        rows = self.conn.execute(
            "SELECT * FROM net_endpoints WHERE container_id=? ORDER BY interface", (container_id,)
        ).fetchall()
        return [
            Endpoint(
                r["network"],
                r["interface"],
                r["address"],
                r["prefixlen"],
                r["gateway"],
                r["mac"] or "",
                r["host_veth"],
            )
            for r in rows
        ]

    def detach(self, container_id: str, *, netns_deleted: bool = False) -> None:
        """Remove the container's host-side veths and its endpoint, name and port records.

        With ``netns_deleted`` its namespace is gone already: the kernel then destroys each veth
        pair with the namespace, in one batch for every namespace freed meanwhile, whereas deleting
        a veth by hand waits for a network-wide RCU grace period under the rtnl lock (about 20 ms,
        one deletion at a time: 450 ms for 20 veths against 50 ms for 20 namespaces). The host ends
        are only waited for then, and deleted by hand if something still holds the namespace.
        """
        rows = self.conn.execute("SELECT host_veth FROM net_endpoints WHERE container_id=?", (container_id,)).fetchall()
        if rows:
            with self._host() as ipr:
                names = [str(r["host_veth"]) for r in rows]
                if netns_deleted:
                    names = links.wait_gone(ipr, names, VETH_LINGER)
                for name in names:
                    links.delete_link(ipr, name)
        with transaction(self.conn) as c:
            c.execute("DELETE FROM net_endpoints WHERE container_id=?", (container_id,))
            c.execute("DELETE FROM net_dns_records WHERE container_id=?", (container_id,))
            c.execute("DELETE FROM net_ports WHERE container_id=?", (container_id,))

    # ---- whole stacks ---------------------------------------------------------------------------

    def stack_links(self, project: str) -> tuple[bool, int | None]:
        """How ``down`` can delete the stack's bridges and host-side veths: ``(batch, group)``.

        ``group`` is the stack's link group when one request can delete it (:meth:`delete_link_group`):
        every link in it is one the state database gives this stack. A link that another tool put
        in the same group is never deleted: then ``group`` is None, and the link-by-link removal
        does the work as before. ``batch`` is True when none of the stack's links is left outside
        that group (or none at all), so that its containers can be removed without waiting for
        their veths (:mod:`orchestrator.reconcile.stack_removal`). Links made before groups were
        given are in group 0 and make ``batch`` False."""
        group = names.link_group(str(self.paths.root), project)
        own = {str(r["bridge"]) for r in self.conn.execute("SELECT bridge FROM net_networks WHERE project=?",
                                                             (project,))}
        own |= {str(r["host_veth"]) for r in self.conn.execute("SELECT host_veth FROM net_endpoints WHERE project=?",
                                                                 (project,))}
        with self._host() as ipr:
            present = {link.name: link.group for link in ipr.links()}
        members = {name for name, g in present.items() if g == group}
        if members and members <= own:
            return not own & (present.keys() - members), group
        return not own & present.keys(), None

    def delete_link_group(self, group: int) -> None:
        """Every link in ``group`` in one request: the kernel unregisters them as one batch, with one
        wait for its RCU grace periods where one deletion after another waited once each (about
        30 ms here). Only for a group :meth:`stack_links` gave."""
        with self._host() as ipr:
            links.delete_group(ipr, group)

    def release_stack_service(self, project: str) -> None:
        from orchestrator.network.cleanup import release_stack_service

        release_stack_service(self, project)

    def cleanup_stack(self, project: str, *, service_released: bool = False) -> None:
        from orchestrator.network.cleanup import cleanup_stack

        cleanup_stack(self, project, service_released=service_released)
