"""Netlink operations on bridges and veths (pyroute2), every one of them idempotent.

Kept apart from the driver's bookkeeping so the driver reads as "record, then act", and so
pyroute2 (≈ 115 ms to import) is loaded only by processes that really change links.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchestrator.errors import NetworkFailure


def open_netlink(netns: str | None) -> Any:
    from pyroute2 import IPRoute

    return IPRoute(netns=netns) if netns else IPRoute()


@contextmanager
def netlink(netns: str | None = None) -> Iterator[Any]:
    """An ``IPRoute`` in ``netns`` (a name or a path), or in the caller's namespace when None."""
    ipr = open_netlink(netns)
    try:
        yield ipr
    finally:
        ipr.close()


def _err(exc: Exception) -> int:
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else -1


def lookup(ipr: Any, ifname: str) -> int | None:
    found = ipr.link_lookup(ifname=ifname)
    return int(found[0]) if found else None


def used_networks(ipr: Any) -> list[ipaddress.IPv4Network]:
    """Every IPv4 prefix the namespace already routes or owns, except the default route."""
    nets: list[ipaddress.IPv4Network] = []
    for route in ipr.get_routes(family=2):
        dst, plen = route.get("dst"), route.get("dst_len", 0)
        if dst and plen:
            nets.append(ipaddress.IPv4Network(f"{dst}/{plen}", strict=False))
    for addr in ipr.get_addr(family=2):
        a, plen = addr.get("address"), addr.get("prefixlen", 32)
        if a and not a.startswith("127."):
            nets.append(ipaddress.IPv4Network(f"{a}/{plen}", strict=False))
    return nets


def ensure_bridge(ipr: Any, name: str, gateway: str, prefixlen: int, mtu: int | None) -> None:
    idx = lookup(ipr, name)
    if idx is None:
        kw: dict[str, Any] = {"ifname": name, "kind": "bridge", "br_stp_state": 0, "br_forward_delay": 0}
        if mtu:
            kw["mtu"] = mtu
        try:
            ipr.link("add", **kw)
        except Exception as exc:
            if _err(exc) != 17:  # EEXIST: another process won the race
                raise NetworkFailure(f"cannot create bridge {name}: {exc}") from None
        idx = lookup(ipr, name)
        if idx is None:
            raise NetworkFailure(f"bridge {name} vanished right after it was created")
    have = {(a.get("address"), a.get("prefixlen")) for a in ipr.get_addr(index=idx, family=2)}
    if (gateway, prefixlen) not in have:
        try:
            ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen)
        except Exception as exc:
            if _err(exc) != 17:
                raise NetworkFailure(f"cannot give bridge {name} the address {gateway}: {exc}") from None
    ipr.link("set", index=idx, state="up")


def delete_link(ipr: Any, name: str) -> None:
    idx = lookup(ipr, name)
    if idx is None:
        return
    try:
        ipr.link("del", index=idx)
    except Exception as exc:
        if _err(exc) != 19:  # ENODEV: already gone
            raise NetworkFailure(f"cannot delete link {name}: {exc}") from None


def add_veth(
    ipr: Any, host_name: str, bridge: str, netns_path: str, ifname: str, mac: str | None, mtu: int | None
) -> None:
    """A veth pair whose peer is born inside the container's namespace, so it never has a host name."""
    delete_link(ipr, host_name)  # a leftover of a crash between record and wiring
    br = lookup(ipr, bridge)
    if br is None:
        raise NetworkFailure(f"bridge {bridge} does not exist; run `pystack up` again to recreate it")
    peer: dict[str, Any] = {"ifname": ifname, "net_ns_fd": netns_path}
    if mac:
        peer["address"] = mac
    if mtu:
        peer["mtu"] = mtu
    kw: dict[str, Any] = {"ifname": host_name, "kind": "veth", "peer": peer}
    if mtu:
        kw["mtu"] = mtu
    try:
        ipr.link("add", **kw)
    except Exception as exc:
        raise NetworkFailure(f"cannot create veth {host_name} → {ifname}: {exc}") from None
    idx = lookup(ipr, host_name)
    ipr.link("set", index=idx, master=br, state="up")


def link_names(ipr: Any) -> set[str]:
    return {str(link.get("ifname")) for link in ipr.get_links()}
