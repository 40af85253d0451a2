"""``pystack network ls|inspect|rm|prune``: the networks the state database knows.

Listing and inspecting read SQLite only; removing loads the driver (and its netlink client) only
when there is something to remove.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from orchestrator.network.driver import NetworkDriver


def _driver(opts: GlobalOptions) -> NetworkDriver:
    from orchestrator.network.driver import NetworkDriver
    from orchestrator.paths import Paths

    # PYSTACK_NET_HOST_NETNS: act inside a stand-in host namespace (tests)
    return NetworkDriver(Paths(opts.root), host_netns=os.environ.get("PYSTACK_NET_HOST_NETNS") or None)


def _describe(d: NetworkDriver, name: str) -> dict[str, Any]:
    info = d.get_network(name)
    if info is None:
        from orchestrator.errors import NetworkFailure

        raise NetworkFailure(f"network {name} not found")
    row = d.conn.execute("SELECT ip_range, status, created FROM net_networks WHERE name=?", (name,)).fetchone()
    eps = d.conn.execute(
        "SELECT container_id, interface, address, prefixlen, mac, host_veth FROM net_endpoints"
        " WHERE network=? ORDER BY container_id",
        (name,),
    ).fetchall()
    return {
        "Name": info.name,
        "Project": info.project,
        "Driver": "bridge",
        "Bridge": info.bridge,
        "Internal": info.internal,
        "MTU": info.mtu,
        "Labels": info.labels,
        "Status": row["status"],
        "IPAM": {"Subnet": info.subnet, "Gateway": info.gateway, "IPRange": row["ip_range"]},
        "Containers": {
            e["container_id"]: {
                "Interface": e["interface"],
                "IPv4Address": f"{e['address']}/{e['prefixlen']}",
                "MacAddress": e["mac"],
                "HostVeth": e["host_veth"],
            }
            for e in eps
        },
    }


@click.group()
def network() -> None:
    """Manage networks."""


@network.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display network names.")
@click.option("--project", default=None, help="Only this project's networks.")
@click.pass_obj
def ls(opts: GlobalOptions, quiet: bool, project: str | None) -> None:
    """List networks."""
    d = _driver(opts)
    nets = d.list_networks(project or opts.project_name)
    if quiet:
        for n in nets:
            click.echo(n.name)
        return
    counts = {
        r["network"]: r["n"]
        for r in d.conn.execute("SELECT network, count(*) AS n FROM net_endpoints GROUP BY network")
    }
    rows = [("NAME", "PROJECT", "BRIDGE", "SUBNET", "GATEWAY", "INTERNAL", "CONTAINERS")]
    rows += [
        (n.name, n.project, n.bridge, n.subnet, n.gateway, "yes" if n.internal else "no", str(counts.get(n.name, 0)))
        for n in nets
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


@network.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_obj
def inspect(opts: GlobalOptions, names: tuple[str, ...]) -> None:
    """Show networks in detail (JSON)."""
    d = _driver(opts)
    click.echo(json.dumps([_describe(d, n) for n in names], indent=2))


@network.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Detach containers that still use the network.")
@click.pass_obj
def rm(opts: GlobalOptions, names: tuple[str, ...], force: bool) -> None:
    """Remove networks."""
    from orchestrator.errors import NetworkFailure

    d = _driver(opts)
    for n in names:
        if d.get_network(n) is None:
            raise NetworkFailure(f"network {n} not found")
        d.remove_network(n, force=force)
        click.echo(n)


@network.command()
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_obj
def prune(opts: GlobalOptions, force: bool) -> None:
    """Remove all networks no container uses."""
    d = _driver(opts)
    unused = [
        r["name"]
        for r in d.conn.execute(
            "SELECT name FROM net_networks WHERE name NOT IN (SELECT network FROM net_endpoints) ORDER BY name"
        )
    ]
    if not unused:
        return
    if not force and not click.confirm(f"Remove {len(unused)} unused network(s)?", default=False):
        return
    for n in unused:
        d.remove_network(n)
        click.echo(f"Deleted network {n}")
