"""Address management as pure functions: choose a subnet, choose an address, validate requests.

The driver feeds these with what the state database and the host's routing table say is taken,
inside one ``BEGIN IMMEDIATE`` transaction, so the choice and its record are atomic across
processes. Nothing here touches the kernel or the database.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.errors import NetworkFailure

DEFAULT_POOL = "10.89.0.0/16"
DEFAULT_PREFIX = 24

Net4 = ipaddress.IPv4Network


@dataclass(frozen=True)
class Ipam:
    """A network's subnet, gateway and allocation range, as the pure functions below chose and checked them."""
    subnet: Net4
    gateway: ipaddress.IPv4Address
    ip_range: Net4 | None


def parse_net(text: str, what: str) -> Net4:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise NetworkFailure(f"{what} {text!r} is not a valid network: {exc}") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise NetworkFailure(f"{what} {text!r}: only IPv4 subnets are supported for networks")
    return net


def parse_addr(text: str, what: str) -> ipaddress.IPv4Address:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise NetworkFailure(f"{what} {text!r} is not a valid IPv4 address") from None
    if not isinstance(addr, ipaddress.IPv4Address):
        raise NetworkFailure(f"{what} {text!r}: only IPv4 addresses are supported")
    return addr


def pick_subnet(pool: Net4, prefix: int, taken: Iterable[Net4]) -> Net4:
    """The first ``/prefix`` of ``pool`` that overlaps none of ``taken`` (routes and other networks)."""
    taken = list(taken)
    if prefix < pool.prefixlen:
        prefix = pool.prefixlen
    for candidate in pool.subnets(new_prefix=prefix):
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise NetworkFailure(f"no free /{prefix} subnet left in the address pool {pool}")


def check_free(subnet: Net4, taken: Iterable[tuple[str, Net4]]) -> None:
    for owner, net in taken:
        if subnet.overlaps(net):
            raise NetworkFailure(f"subnet {subnet} overlaps {net} ({owner})")


def plan_ipam(subnet: Net4, gateway: str | None, ip_range: str | None) -> Ipam:
    """Validate ``ipam.config`` against the subnet and fill in the defaults Docker uses."""
    if subnet.num_addresses < 4:
        raise NetworkFailure(f"subnet {subnet} is too small for a network (needs at least /30)")
    gw = parse_addr(gateway, "gateway") if gateway else subnet.network_address + 1
    if gw not in subnet or gw in (subnet.network_address, subnet.broadcast_address):
        raise NetworkFailure(f"gateway {gw} is not a usable address of subnet {subnet}")
    rng = parse_net(ip_range, "ip_range") if ip_range else None
    if rng is not None and not rng.subnet_of(subnet):
        raise NetworkFailure(f"ip_range {rng} is not inside subnet {subnet}")
    return Ipam(subnet, gw, rng)


def _usable(ipam: Ipam, addr: ipaddress.IPv4Address) -> bool:
    s = ipam.subnet
    return addr in s and addr not in (s.network_address, s.broadcast_address, ipam.gateway)


def allocate(ipam: Ipam, used: set[ipaddress.IPv4Address], cursor: int) -> tuple[ipaddress.IPv4Address, int]:
    """The next free address after ``cursor`` (an offset into the range), wrapping once.

    Walking on from the last lease instead of taking the lowest free address keeps a just-freed
    address out of circulation as long as possible, so stale ARP entries and DNS answers age out.
    """
    rng = ipam.ip_range or ipam.subnet
    base = int(rng.network_address)
    size = rng.num_addresses
    for step in range(size):
        offset = (cursor + step) % size
        addr = ipaddress.IPv4Address(base + offset)
        if _usable(ipam, addr) and addr not in used:
            return addr, (offset + 1) % size
    raise NetworkFailure(f"no free address left in {rng}")


def check_requested(ipam: Ipam, text: str, used: set[ipaddress.IPv4Address]) -> ipaddress.IPv4Address:
    addr = parse_addr(text, "ipv4_address")
    if not _usable(ipam, addr):
        raise NetworkFailure(f"ipv4_address {addr} is not a usable address of subnet {ipam.subnet}")
    if addr in used:
        raise NetworkFailure(f"ipv4_address {addr} is already in use on this network")
    return addr
