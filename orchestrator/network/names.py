"""Kernel names for pystack's bridges, veths and namespaces.

Interface names are limited to 15 bytes (IFNAMSIZ - 1) and live in one namespace shared with
every other tool on the host, so they are derived from a hash of the state root and the object
(two pystack roots on one host never collide) and re-salted when taken.
"""

from __future__ import annotations

import re

from orchestrator import sha256

IFNAMSIZ_MAX = 15
_NETNS_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _digest(*parts: str, salt: int = 0) -> str:
    data = "\0".join((*parts, str(salt))).encode()
    return sha256.hexdigest(data)


def bridge_name(root: str, network: str, salt: int = 0) -> str:
    """``ps-`` + 10 hex digits: 13 bytes, recognisable as pystack's in ``ip link``."""
    return "ps-" + _digest("bridge", root, network, salt=salt)[:10]


def veth_name(root: str, container_id: str, network: str, salt: int = 0) -> str:
    """``pv`` + 11 hex digits for the host side of a container's veth pair."""
    return "pv" + _digest("veth", root, container_id, network, salt=salt)[:11]


def link_group(root: str, project: str) -> int:
    """The link group of a stack's bridges and host-side veths, so that ``down`` deletes them in one
    request (:meth:`orchestrator.network.rtnl.Rtnl.del_group`). Groups are 32-bit numbers shared
    by every tool on the host; this one lies in 2**30 .. 2**31-1, away from the small numbers
    people name in /etc/iproute2/group, and ``down`` checks each member before it deletes them."""
    return (1 << 30) | (int(_digest("group", root, project)[:8], 16) & ((1 << 30) - 1))


def netns_name(container_id: str) -> str:
    """The ``/run/netns`` file name: the container id itself, made file-name safe and short."""
    name = _NETNS_SAFE.sub("_", container_id)[:64].lstrip(".")
    if not name:
        raise ValueError(f"cannot derive a namespace name from container id {container_id!r}")
    return name


def container_ifname(index: int) -> str:
    return f"eth{index}"
