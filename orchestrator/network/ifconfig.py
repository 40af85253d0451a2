"""Configure interfaces inside a container's namespace with classic ioctls from a setns'd thread.

An ``AF_INET`` socket created by a thread that has joined the namespace, driving
``SIOCSIFADDR``/``SIOCSIFNETMASK``/``SIOCSIFFLAGS``/``SIOCADDRT``, does the whole container side in
well under a millisecond, without a netlink socket per container. Only the host side needs
netlink (veth, bridge: :mod:`orchestrator.network.links`)."""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from orchestrator.network import nsutil

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
SIOCSIFNETMASK = 0x891C
SIOCGIFHWADDR = 0x8927
SIOCADDRT = 0x890B
IFF_UP = 0x1
RTF_UP = 0x1
RTF_GATEWAY = 0x2
_IFREQ_FLAGS = "16sH14x"
_RTENTRY = "@L16s16s16sHhLPhPLLH"


@dataclass(frozen=True)
class IfAddr:
    """An IPv4 address on an interface, as the ioctl path sets it without a netlink round trip."""
    ifname: str
    address: str
    prefixlen: int


def _sockaddr_in(addr: str) -> bytes:
    return struct.pack("HH4s8x", socket.AF_INET, 0, socket.inet_aton(addr))


def _ifreq_addr(ifname: str, addr: str) -> bytes:
    return struct.pack("16s16s", ifname.encode(), _sockaddr_in(addr))


def _up(fd: int, ifname: str) -> None:
    req = struct.pack(_IFREQ_FLAGS, ifname.encode(), 0)
    flags = struct.unpack(_IFREQ_FLAGS, fcntl.ioctl(fd, SIOCGIFFLAGS, req))[1]
    fcntl.ioctl(fd, SIOCSIFFLAGS, struct.pack(_IFREQ_FLAGS, ifname.encode(), flags | IFF_UP))


def _mac(fd: int, ifname: str) -> str:
    out = fcntl.ioctl(fd, SIOCGIFHWADDR, struct.pack("16s16x", ifname.encode()))
    return ":".join(f"{b:02x}" for b in out[18:24])


def _default_route(fd: int, gateway: str) -> None:
    zero = _sockaddr_in("0.0.0.0")
    rt = struct.pack(_RTENTRY, 0, zero, _sockaddr_in(gateway), zero, RTF_UP | RTF_GATEWAY, 0, 0, 0, 0, 0, 0, 0, 0)
    with contextlib.suppress(FileExistsError):  # a re-run of a half-finished attach
        fcntl.ioctl(fd, SIOCADDRT, rt)


def configure(netns: Path, addrs: list[IfAddr], gateway: str | None) -> list[str]:
    """Give each interface its address and bring it up, then the default route; returns the MACs."""

    def work() -> list[str]:
        macs = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            fd = s.fileno()
            for a in addrs:
                mask = str(ipaddress.IPv4Network(f"0.0.0.0/{a.prefixlen}").netmask)
                fcntl.ioctl(fd, SIOCSIFADDR, _ifreq_addr(a.ifname, a.address))
                fcntl.ioctl(fd, SIOCSIFNETMASK, _ifreq_addr(a.ifname, mask))
                _up(fd, a.ifname)
                macs.append(_mac(fd, a.ifname))
            if gateway:
                _default_route(fd, gateway)
        return macs

    return nsutil.run_in(netns, work)
