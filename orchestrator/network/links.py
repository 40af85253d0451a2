"""Netlink operations on bridges and veths, every one of them idempotent.

Kept apart from the driver's bookkeeping so the driver reads as "record, then act". The requests
go through :mod:`orchestrator.network.rtnl`, a small standard-library client, because importing a
general netlink library cost more than all the link work of a command.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator.errors import NetworkFailure
from orchestrator.network.rtnl import Rtnl


def open_netlink(netns: str | None) -> Rtnl:
    return Rtnl(netns)


@contextmanager
def netlink(netns: str | None = None) -> Iterator[Rtnl]:
    """A netlink socket in ``netns`` (a name or a path), or in the caller's namespace when None."""
    ipr = open_netlink(netns)
    try:
        yield ipr
    finally:
        ipr.close()


def _err(exc: Exception) -> int:
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else -1


def lookup(ipr: Rtnl, ifname: str) -> int | None:
    link = ipr.get_link(ifname)
    return link.ifindex if link else None


def used_networks(ipr: Rtnl) -> list[ipaddress.IPv4Network]:
    """Every IPv4 prefix the namespace already routes or owns, except the default route."""
    nets: list[ipaddress.IPv4Network] = []
    for route in ipr.routes():
        if route.dst and route.dst_len:
            nets.append(ipaddress.IPv4Network(f"{route.dst}/{route.dst_len}", strict=False))
    for addr in ipr.addrs():
        if not addr.address.startswith("127."):
            nets.append(ipaddress.IPv4Network(f"{addr.address}/{addr.prefixlen}", strict=False))
    return nets


def bridge_mac(name: str) -> str:
    """The bridge's own MAC, fixed and derived from its name: locally administered, unicast.

    Fixed, because the kernel otherwise gives a bridge the lowest MAC among its ports: a container
    joining with a lower one changed the gateway's MAC under every other container, whose cached
    ARP entry then sent DNS queries nowhere for seconds. Derived from the name, so a bridge made
    again for the same network keeps it too."""
    from orchestrator import sha256

    raw = bytearray(bytes.fromhex(sha256.hexdigest(b"pystack-bridge-mac:" + name.encode())[:12]))
    raw[0] = (raw[0] & 0xFC) | 0x02
    return ":".join(f"{b:02x}" for b in raw)


def ensure_bridge(ipr: Rtnl, name: str, gateway: str, prefixlen: int, mtu: int | None,
                  group: int | None = None) -> None:
    mac = bridge_mac(name)
    link = ipr.get_link(name)
    idx = link.ifindex if link else None
    if link is not None and link.mac != mac:  # made before its MAC was fixed: fix it once
        ipr.set_link(link.ifindex, mac=mac)
    if idx is None:
        try:
            ipr.add_bridge(name, mtu=mtu, group=group, mac=mac)
        except (OSError, ValueError) as exc:
            if _err(exc) != 17:  # EEXIST: another process won the race
                raise NetworkFailure(f"cannot create bridge {name}: {exc}") from None
        idx = lookup(ipr, name)
        if idx is None:
            raise NetworkFailure(f"bridge {name} vanished right after it was created")
    have = {(a.address, a.prefixlen) for a in ipr.addrs(idx)}
    if (gateway, prefixlen) not in have:
        try:
            ipr.add_addr(idx, gateway, prefixlen)
        except (OSError, ValueError) as exc:
            if _err(exc) != 17:
                raise NetworkFailure(f"cannot give bridge {name} the address {gateway}: {exc}") from None
    ipr.set_link(idx, up=True)


def wait_gone(ipr: Rtnl, names: list[str], timeout: float) -> list[str]:
    """Wait until no link has one of ``names`` (the kernel removes them on its own); returns those left."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    left = [n for n in names if lookup(ipr, n) is not None]
    while left and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
        left = [n for n in left if lookup(ipr, n) is not None]
    return left


def delete_link(ipr: Rtnl, name: str) -> None:
    idx = lookup(ipr, name)
    if idx is None:
        return
    try:
        ipr.del_link(idx)
    except (OSError, ValueError) as exc:
        if _err(exc) != 19:  # ENODEV: already gone
            raise NetworkFailure(f"cannot delete link {name}: {exc}") from None


def delete_group(ipr: Rtnl, group: int) -> None:
    """Every link in link group ``group``, in one request (nothing when none is left)."""
    try:
        ipr.del_group(group)
    except (OSError, ValueError) as exc:
        if _err(exc) != 19:  # ENODEV: no link in the group
            raise NetworkFailure(f"cannot delete the links of group {group}: {exc}") from None


def add_veth(
    ipr: Rtnl, host_name: str, bridge: str, netns_path: str, ifname: str, mac: str | None, mtu: int | None,
    group: int | None = None,
) -> None:
    """A veth pair whose peer is born inside the container's namespace, so it never has a host name."""
    delete_link(ipr, host_name)  # a leftover of a crash between record and wiring
    br = lookup(ipr, bridge)
    if br is None:
        raise NetworkFailure(f"bridge {bridge} does not exist; run `pystack up` again to recreate it")
    try:
        ipr.add_veth(host_name, ifname, netns_path, peer_mac=mac, mtu=mtu, group=group)
    except (OSError, ValueError) as exc:
        raise NetworkFailure(f"cannot create veth {host_name} → {ifname}: {exc}") from None
    idx = lookup(ipr, host_name)
    if idx is None:
        raise NetworkFailure(f"veth {host_name} vanished right after it was created")
    ipr.set_link(idx, up=True, master=br)


def link_names(ipr: Rtnl) -> set[str]:
    return {link.name for link in ipr.links()}
