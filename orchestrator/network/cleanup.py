"""Remove everything the state database says a stack has on the network side.

Works from the rows alone, whatever state they are in (``creating`` rows of a crashed ``up``
included), and every kernel removal tolerates an object that never got made. Order: veths,
namespaces and bridges, then records and leases; the stack's DNS/port service and its port rules
go meanwhile, in a thread of their own.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from orchestrator.network import links, nsutil
from orchestrator.network.service_pid import stop_service
from orchestrator.state.db import transaction

if TYPE_CHECKING:
    from orchestrator.network.driver import NetworkDriver


def _remove_port_rules(driver: NetworkDriver, project: str) -> None:
    from orchestrator.errors import NetworkFailure
    from orchestrator.network import nftports

    if not nftports.available():
        return
    table = nftports.table_name(str(driver.paths.root), project)

    def remove() -> None:
        with contextlib.suppress(NetworkFailure):
            nftports.remove(table)

    if driver.host_netns:
        nsutil.run_in(driver.paths.netns / driver.host_netns, remove)
    else:
        remove()


def release_stack_service(driver: NetworkDriver, project: str) -> None:
    """Stop the stack's DNS/port service and remove its port rules.

    ``down`` does this as soon as the stack's containers have stopped, beside their removal:
    nothing resolves names or uses a published port any more, and the service's exit and the
    rules' removal (an nft run) each take ~20 ms that need not wait for the links to go.
    """
    stop_service(driver.paths, project)
    _remove_port_rules(driver, project)


def cleanup_stack(driver: NetworkDriver, project: str, *, service_released: bool = False) -> None:
    """Everything the stack still has on the network side; ``service_released`` when
    :func:`release_stack_service` has already run for it."""
    if service_released:
        _remove_links(driver, project)
        return
    # The service's exit and the port rules' removal wait on something else than the links'
    # removal does (the kernel's RCU grace periods): they go side by side.
    failed: list[BaseException] = []

    def service_and_rules() -> None:
        try:
            release_stack_service(driver, project)
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    side = threading.Thread(target=service_and_rules, name=f"cleanup-{project}")
    side.start()
    try:
        _remove_links(driver, project)
    finally:
        side.join()
    if failed:
        raise failed[0]


def _remove_links(driver: NetworkDriver, project: str) -> None:
    conn = driver.conn
    own_nets = [r["name"] for r in conn.execute("SELECT name FROM net_networks WHERE project=?", (project,))]
    marks = ",".join("?" * len(own_nets)) or "NULL"
    cids = {
        r["container_id"]
        for r in conn.execute(
            f"SELECT container_id FROM net_endpoints WHERE project=? OR network IN ({marks})",
            (project, *own_nets),
        )
    }
    cids |= {r["container_id"] for r in conn.execute("SELECT container_id FROM net_netns WHERE project=?", (project,))}
    cid_marks = ",".join("?" * len(cids)) or "NULL"
    veths = [
        r["host_veth"]
        for r in conn.execute(f"SELECT host_veth FROM net_endpoints WHERE container_id IN ({cid_marks})", tuple(cids))
    ]
    bridges = [r["bridge"] for r in conn.execute("SELECT bridge FROM net_networks WHERE project=?", (project,))]
    with driver._host() as ipr:
        for v in veths:
            links.delete_link(ipr, v)
        for cid in sorted(cids):
            ns = conn.execute("SELECT name FROM net_netns WHERE container_id=?", (cid,)).fetchone()
            if ns is not None:
                nsutil.remove(ns["name"], driver.paths.netns)
        for b in bridges:
            links.delete_link(ipr, b)
    with transaction(conn) as c:
        for cid in cids:
            c.execute("DELETE FROM net_endpoints WHERE container_id=?", (cid,))
            c.execute("DELETE FROM net_netns WHERE container_id=?", (cid,))
            c.execute("DELETE FROM net_dns_records WHERE container_id=?", (cid,))
        c.execute("DELETE FROM net_dns_records WHERE project=?", (project,))
        c.execute("DELETE FROM net_ports WHERE project=?", (project,))
        c.execute("DELETE FROM net_networks WHERE project=?", (project,))
