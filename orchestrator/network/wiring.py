"""Wiring one container namespace into its networks: lease addresses, then create the veths.

The lease and the veth names are committed first (one ``BEGIN IMMEDIATE`` transaction for all
of a container's networks, so two concurrent ``up``\\ s can never take the same address); the
kernel work follows and is safe to repeat, which is how a re-run finishes a crashed attach.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, cast

from orchestrator.errors import NetworkFailure
from orchestrator.network import ifconfig, ipam, links, names
from orchestrator.state.db import transaction

if TYPE_CHECKING:
    from orchestrator.network.driver import Attachment, Endpoint, NetworkDriver


def _lease(
    c: sqlite3.Connection, root: str, container_id: str, project: str | None, index: int, a: Attachment
) -> sqlite3.Row:
    net = c.execute("SELECT * FROM net_networks WHERE name=?", (a.network,)).fetchone()
    if net is None:
        raise NetworkFailure(f"network {a.network} does not exist")
    have = c.execute(
        "SELECT * FROM net_endpoints WHERE container_id=? AND network=?", (container_id, a.network)
    ).fetchone()
    if have is not None:
        return cast(sqlite3.Row, have)
    plan = ipam.plan_ipam(ipaddress.IPv4Network(net["subnet"]), net["gateway"], net["ip_range"])
    used = {
        ipaddress.IPv4Address(r["address"])
        for r in c.execute("SELECT address FROM net_endpoints WHERE network=?", (a.network,))
    }
    if a.ipv4_address:
        addr = ipam.check_requested(plan, a.ipv4_address, used)
    else:
        addr, cursor = ipam.allocate(plan, used, net["next_ip"])
        c.execute("UPDATE net_networks SET next_ip=? WHERE name=?", (cursor, a.network))
    salt = 0
    veth = names.veth_name(root, container_id, a.network)
    while c.execute("SELECT 1 FROM net_endpoints WHERE host_veth=?", (veth,)).fetchone():
        salt += 1
        veth = names.veth_name(root, container_id, a.network, salt)
    c.execute(
        "INSERT INTO net_endpoints (container_id, network, project, interface, host_veth, address, prefixlen,"
        " gateway, mac, status) VALUES (?,?,?,?,?,?,?,?,?,'creating')",
        (
            container_id,
            a.network,
            project,
            names.container_ifname(index),
            veth,
            str(addr),
            plan.subnet.prefixlen,
            str(plan.gateway),
            a.mac_address,
        ),
    )
    row = c.execute(
        "SELECT * FROM net_endpoints WHERE container_id=? AND network=?", (container_id, a.network)
    ).fetchone()
    assert row is not None
    return cast(sqlite3.Row, row)


def attach(
    driver: NetworkDriver, container_id: str, netns: Path, attachments: list[Attachment], project: str | None
) -> list[Endpoint]:
    from orchestrator.network.driver import Endpoint, default_gateway_index, order_attachments

    ordered = order_attachments(attachments)
    if len({a.network for a in ordered}) != len(ordered):
        raise NetworkFailure(f"container {container_id} is attached to the same network twice")
    conn = driver.conn
    with transaction(conn) as c:
        if project is None:
            ns = c.execute("SELECT project FROM net_netns WHERE container_id=?", (container_id,)).fetchone()
            project = ns["project"] if ns and ns["project"] else None
        nets = []
        for a in ordered:
            net = c.execute("SELECT * FROM net_networks WHERE name=?", (a.network,)).fetchone()
            if net is None:
                raise NetworkFailure(f"network {a.network} does not exist; it must be created before {container_id}")
            nets.append(net)
        if project is None and nets:
            project = nets[0]["project"]
        rows = [_lease(c, str(driver.paths.root), container_id, project, i, a) for i, a in enumerate(ordered)]
    gw_index = default_gateway_index(ordered, [bool(n["internal"]) for n in nets])
    group = names.link_group(str(driver.paths.root), project) if project else None
    with driver._host() as ipr:
        for row, net in zip(rows, nets, strict=True):
            links.add_veth(ipr, row["host_veth"], net["bridge"], str(netns), row["interface"], row["mac"], net["mtu"],
                           group)
    addrs = [ifconfig.IfAddr(r["interface"], r["address"], r["prefixlen"]) for r in rows]
    gateway = rows[gw_index]["gateway"] if gw_index is not None else None
    try:
        macs = ifconfig.configure(netns, addrs, gateway)
    except OSError as exc:
        raise NetworkFailure(f"cannot configure the network of {container_id} in {netns}: {exc}") from None
    with transaction(conn) as c:
        for row, mac in zip(rows, macs, strict=True):
            c.execute(
                "UPDATE net_endpoints SET mac=?, status='ready' WHERE container_id=? AND network=?",
                (mac, container_id, row["network"]),
            )
    return [
        Endpoint(r["network"], r["interface"], r["address"], r["prefixlen"], r["gateway"], mac, r["host_veth"])
        for r, mac in zip(rows, macs, strict=True)
    ]
