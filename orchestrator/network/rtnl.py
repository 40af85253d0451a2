"""A small rtnetlink client over an ``AF_NETLINK``/``NETLINK_ROUTE`` socket, standard library only.

pystack changes links on the critical path of ``up``, ``run`` and ``down`` and needs only a
handful of rtnetlink requests; a general netlink library costs more to import (≈ 115–160 ms)
than all of that work together. Message layouts follow the kernel's uapi headers (netlink.h,
rtnetlink.h, if_link.h, if_addr.h, veth.h) and rtnetlink(7).

Every request but a dump asks for an acknowledgement, so a failure always comes back as
:class:`NetlinkError` with the kernel's errno; dumps are read until ``NLMSG_DONE`` and repeated
when the kernel flags them as interrupted by a concurrent change.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from orchestrator.network import nsutil

# netlink.h
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_CAPPED = 0x100  # on NLMSG_ERROR: the echoed request is only its header
NLM_F_ACK_TLVS = 0x200  # on NLMSG_ERROR: extended-ack attributes follow
NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4
NLMSGERR_ATTR_MSG = 1
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER

# rtnetlink.h
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_SETLINK = 19
RTM_NEWADDR = 20
RTM_GETADDR = 22
RTM_NEWROUTE = 24
RTM_GETROUTE = 26
RTA_DST = 1
RTA_TABLE = 15
RTEXT_FILTER_SKIP_STATS = 1 << 3

# if_link.h / veth.h
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_GROUP = 27
IFLA_NET_NS_FD = 28
IFLA_EXT_MASK = 29
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_BR_FORWARD_DELAY = 1
IFLA_BR_STP_STATE = 5
VETH_INFO_PEER = 1
IFF_UP = 0x1

# if_addr.h
IFA_ADDRESS = 1
IFA_LOCAL = 2

IFNAMSIZ = 16
_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_ATTR = struct.Struct("=HH")  # rtattr: len, type
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, proto, scope, type, flags
_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")
_RECV_SIZE = 1 << 16  # the kernel never builds a netlink skb above 32 KiB
_DUMP_TRIES = 5


class NetlinkError(OSError):
    """A request the kernel refused; ``code`` is the positive errno (17 EEXIST, 19 ENODEV, …)."""

    def __init__(self, code: int, detail: str | None = None) -> None:
        super().__init__(code, os.strerror(code))
        self.detail = detail

    @property
    def code(self) -> int:
        return int(self.errno or 0)

    def __str__(self) -> str:
        base = f"[Errno {self.code}] {self.strerror}"
        return f"{base} ({self.detail})" if self.detail else base


class Link(NamedTuple):
    ifindex: int
    name: str
    flags: int = 0
    mtu: int | None = None
    master: int | None = None
    kind: str | None = None
    mac: str | None = None
    group: int = 0


class Addr(NamedTuple):
    ifindex: int
    address: str
    prefixlen: int


class Route(NamedTuple):
    dst: str | None
    dst_len: int
    table: int


# ---- encoding -------------------------------------------------------------------------------------


def align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    """One attribute, padded so the next one starts 4-byte aligned (the length field excludes it)."""
    length = _ATTR.size + len(payload)
    return _ATTR.pack(length, kind) + payload + b"\0" * (align(length) - length)


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, _U32.pack(value))


def attr_str(kind: int, value: str) -> bytes:
    return attr(kind, value.encode() + b"\0")


def nest(kind: int, *attrs: bytes) -> bytes:
    # No NLA_F_NESTED flag: VETH_INFO_PEER is not typed as nested in the kernel's policy, and the
    # rtnetlink link parsers accept nests without the flag (iproute2 never sets it either).
    return attr(kind, b"".join(attrs))


def ifinfomsg(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)


def message(kind: int, flags: int, seq: int, body: bytes) -> bytes:
    return _HDR.pack(_HDR.size + len(body), kind, flags, seq, 0) + body


def mac_bytes(mac: str) -> bytes:
    raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return raw


def check_ifname(name: str) -> bytes:
    raw = name.encode()
    if not raw or len(raw) >= IFNAMSIZ or b"\0" in raw:
        raise ValueError(f"not an interface name (1..15 bytes): {name!r}")
    return raw


def bridge_request(name: str, mtu: int | None = None, group: int | None = None, mac: str | None = None) -> bytes:
    """RTM_NEWLINK body for a bridge without STP or forward delay, so ports forward at once; in the
    link group ``group`` when given (see :meth:`Rtnl.del_group`). A ``mac`` given here is the
    bridge's for good: without one, the kernel gives a bridge the lowest MAC among its ports, so
    a port added later may change it under the containers that cached the old one for their
    gateway."""
    check_ifname(name)
    data = nest(IFLA_INFO_DATA, attr_u32(IFLA_BR_STP_STATE, 0), attr_u32(IFLA_BR_FORWARD_DELAY, 0))
    return b"".join(
        [
            ifinfomsg(),
            attr_str(IFLA_IFNAME, name),
            attr(IFLA_ADDRESS, mac_bytes(mac)) if mac else b"",
            attr_u32(IFLA_MTU, mtu) if mtu else b"",
            attr_u32(IFLA_GROUP, group) if group else b"",
            nest(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "bridge"), data),
        ]
    )


def veth_request(
    name: str, peer: str, peer_netns_fd: int, peer_mac: str | None = None, mtu: int | None = None,
    group: int | None = None,
) -> bytes:
    """RTM_NEWLINK body for a veth whose peer is created directly in the namespace ``peer_netns_fd``;
    the end here is in the link group ``group`` when given."""
    check_ifname(name)
    check_ifname(peer)
    peer_msg = b"".join(
        [
            ifinfomsg(),
            attr_str(IFLA_IFNAME, peer),
            attr_u32(IFLA_NET_NS_FD, peer_netns_fd),
            attr(IFLA_ADDRESS, mac_bytes(peer_mac)) if peer_mac else b"",
            attr_u32(IFLA_MTU, mtu) if mtu else b"",
        ]
    )
    info = nest(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "veth"), nest(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_msg)))
    return b"".join([ifinfomsg(), attr_str(IFLA_IFNAME, name), attr_u32(IFLA_MTU, mtu) if mtu else b"",
                     attr_u32(IFLA_GROUP, group) if group else b"", info])


def setlink_request(index: int, *, up: bool = False, master: int | None = None, mac: str | None = None) -> bytes:
    """RTM_SETLINK body; ``ifi_change`` limits the flag change to IFF_UP (0 would replace all flags)."""
    flags, change = (IFF_UP, IFF_UP) if up else (0, 0)
    return (ifinfomsg(index, flags, change) + (attr_u32(IFLA_MASTER, master) if master is not None else b"")
            + (attr(IFLA_ADDRESS, mac_bytes(mac)) if mac else b""))


def addr_request(index: int, address: str, prefixlen: int) -> bytes:
    if not 0 <= prefixlen <= 32:
        raise ValueError(f"IPv4 prefix length out of range: {prefixlen}")
    try:
        raw = socket.inet_pton(socket.AF_INET, address)  # inet_aton would take "10.1" as 10.0.0.1
    except OSError:
        raise ValueError(f"not an IPv4 address: {address!r}") from None
    return _IFADDR.pack(socket.AF_INET, prefixlen, 0, 0, index) + attr(IFA_LOCAL, raw) + attr(IFA_ADDRESS, raw)


# ---- decoding -------------------------------------------------------------------------------------


def messages(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """(type, flags, seq, payload) of each message in one datagram."""
    off = 0
    while off + _HDR.size <= len(data):
        length, kind, flags, seq, _pid = _HDR.unpack_from(data, off)
        if length < _HDR.size or off + length > len(data):
            raise ValueError(f"malformed netlink message at byte {off}")
        yield kind, flags, seq, data[off + _HDR.size : off + length]
        off += align(length)


def attrs(buf: bytes, offset: int = 0) -> dict[int, bytes]:
    """Attribute type → payload (the last one wins for repeated types; flags masked off)."""
    out: dict[int, bytes] = {}
    off = offset
    while off + _ATTR.size <= len(buf):
        length, kind = _ATTR.unpack_from(buf, off)
        if length < _ATTR.size or off + length > len(buf):
            raise ValueError(f"malformed netlink attribute at byte {off}")
        out[kind & NLA_TYPE_MASK] = buf[off + _ATTR.size : off + length]
        off += align(length)
    return out


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def decode_link(payload: bytes) -> Link:
    _family, _type, index, flags, _change = _IFINFO.unpack_from(payload)
    a = attrs(payload, _IFINFO.size)
    kind = None
    if IFLA_LINKINFO in a:
        info = attrs(a[IFLA_LINKINFO])
        kind = _cstr(info[IFLA_INFO_KIND]) if IFLA_INFO_KIND in info else None
    mac = a.get(IFLA_ADDRESS)
    return Link(
        ifindex=index,
        name=_cstr(a.get(IFLA_IFNAME, b"")),
        flags=flags,
        mtu=_U32.unpack(a[IFLA_MTU])[0] if IFLA_MTU in a else None,
        master=_U32.unpack(a[IFLA_MASTER])[0] if IFLA_MASTER in a else None,
        kind=kind,
        mac=":".join(f"{b:02x}" for b in mac) if mac else None,
        group=_U32.unpack(a[IFLA_GROUP])[0] if IFLA_GROUP in a else 0,
    )


def decode_addr(payload: bytes) -> Addr | None:
    """An IPv4 address (IFA_ADDRESS, as ``ip`` shows it for a broadcast link), None for another family."""
    family, prefixlen, _flags, _scope, index = _IFADDR.unpack_from(payload)
    a = attrs(payload, _IFADDR.size)
    raw = a.get(IFA_ADDRESS) or a.get(IFA_LOCAL)
    if family != socket.AF_INET or raw is None or len(raw) != 4:
        return None
    return Addr(index, socket.inet_ntoa(raw), prefixlen)


def decode_route(payload: bytes) -> Route | None:
    family, dst_len, _src_len, _tos, table, _proto, _scope, _type, _flags = _RTMSG.unpack_from(payload)
    if family != socket.AF_INET:
        return None
    a = attrs(payload, _RTMSG.size)
    dst = socket.inet_ntoa(a[RTA_DST]) if len(a.get(RTA_DST, b"")) == 4 else None
    if len(a.get(RTA_TABLE, b"")) == 4:
        table = _U32.unpack(a[RTA_TABLE])[0]  # rtm_table is only 8 bits wide
    return Route(dst, dst_len, table)


def decode_error(payload: bytes, flags: int) -> tuple[int, str | None]:
    """(positive errno or 0 for an ack, the kernel's extended-ack message if it sent one)."""
    if len(payload) < _I32.size:
        raise ValueError("truncated NLMSG_ERROR")
    code = -_I32.unpack_from(payload)[0]
    detail = None
    if flags & NLM_F_ACK_TLVS and len(payload) >= _I32.size + _HDR.size:
        echoed = _HDR.size if flags & NLM_F_CAPPED else _HDR.unpack_from(payload, _I32.size)[0]
        tlvs = attrs(payload, _I32.size + align(echoed))
        if NLMSGERR_ATTR_MSG in tlvs:
            detail = _cstr(tlvs[NLMSGERR_ATTR_MSG]) or None
    return code, detail


# ---- the socket -----------------------------------------------------------------------------------


def netns_path(netns: str) -> Path:
    """A namespace given the way ``ip netns`` names it, or a path to its nsfs file."""
    return Path(netns) if "/" in netns else nsutil.NETNS_DIR / netns


def _open_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
    try:
        sock.bind((0, 0))
        for opt in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
            with contextlib.suppress(OSError):  # older kernels: plain errors, full echo of the request
                sock.setsockopt(SOL_NETLINK, opt, 1)
    except BaseException:
        sock.close()
        raise
    return sock


class Rtnl:
    """One rtnetlink socket. A socket stays in the namespace it was created in, so for ``netns``
    it is made by a short-lived thread that joined that namespace: no helper process, no fork.
    Not for concurrent use from several threads (replies are matched by sequence number)."""

    def __init__(self, netns: str | None = None) -> None:
        self._sock = nsutil.run_in(netns_path(netns), _open_socket) if netns else _open_socket()
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---- transport ----

    def _send(self, kind: int, flags: int, body: bytes) -> int:
        self._seq = (self._seq + 1) & 0xFFFFFFFF or 1
        self._sock.send(message(kind, NLM_F_REQUEST | flags, self._seq, body))
        return self._seq

    def _datagrams(self) -> Iterator[bytes]:
        while True:
            data, _anc, msg_flags, _addr = self._sock.recvmsg(_RECV_SIZE)
            if msg_flags & socket.MSG_TRUNC:
                raise NetlinkError(errno.EMSGSIZE, "netlink reply larger than the receive buffer")
            yield data

    def request(self, kind: int, body: bytes, flags: int = 0) -> list[tuple[int, bytes]]:
        """Send one request and wait for its acknowledgement; returns any replies before it."""
        seq = self._send(kind, flags | NLM_F_ACK, body)
        replies: list[tuple[int, bytes]] = []
        for data in self._datagrams():
            for mtype, mflags, mseq, payload in messages(data):
                if mseq != seq or mtype in (NLMSG_NOOP, NLMSG_OVERRUN):
                    continue  # a late reply to an abandoned request
                if mtype == NLMSG_ERROR:
                    code, detail = decode_error(payload, mflags)
                    if code:
                        raise NetlinkError(code, detail)
                    return replies
                replies.append((mtype, payload))
        raise AssertionError("unreachable")

    def dump(self, kind: int, body: bytes) -> list[tuple[int, bytes]]:
        """Every object of a dump; repeated when a concurrent change made the kernel's walk inconsistent."""
        for _ in range(_DUMP_TRIES):
            replies, interrupted = self._dump_once(kind, body)
            if not interrupted:
                return replies
        raise NetlinkError(errno.EINTR, f"dump {kind} kept changing under {_DUMP_TRIES} reads")

    def _dump_once(self, kind: int, body: bytes) -> tuple[list[tuple[int, bytes]], bool]:
        seq = self._send(kind, NLM_F_DUMP, body)
        replies: list[tuple[int, bytes]] = []
        interrupted = False
        for data in self._datagrams():
            for mtype, mflags, mseq, payload in messages(data):
                if mseq != seq or mtype in (NLMSG_NOOP, NLMSG_OVERRUN):
                    continue
                interrupted = interrupted or bool(mflags & NLM_F_DUMP_INTR)
                if mtype == NLMSG_ERROR:
                    code, detail = decode_error(payload, mflags)
                    raise NetlinkError(code or errno.EPROTO, detail)
                if mtype == NLMSG_DONE:
                    status = _I32.unpack_from(payload)[0] if len(payload) >= _I32.size else 0
                    if status < 0:
                        raise NetlinkError(-status)
                    return replies, interrupted
                replies.append((mtype, payload))
        raise AssertionError("unreachable")

    # ---- links ----

    def get_link(self, name: str) -> Link | None:
        """The link called ``name`` (not one that merely has it as an alternative name), or None."""
        try:
            check_ifname(name)
        except ValueError:
            return None
        body = ifinfomsg() + attr_str(IFLA_IFNAME, name) + attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
        try:
            replies = self.request(RTM_GETLINK, body)
        except NetlinkError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise
        for mtype, payload in replies:
            if mtype == RTM_NEWLINK:
                link = decode_link(payload)
                if link.name == name:
                    return link
        return None

    def links(self) -> list[Link]:
        body = ifinfomsg() + attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
        return [decode_link(p) for t, p in self.dump(RTM_GETLINK, body) if t == RTM_NEWLINK]

    def add_bridge(self, name: str, *, mtu: int | None = None, group: int | None = None,
                   mac: str | None = None) -> None:
        self.request(RTM_NEWLINK, bridge_request(name, mtu, group, mac), NLM_F_CREATE | NLM_F_EXCL)

    def add_veth(
        self, name: str, peer: str, peer_netns: str | Path, *, peer_mac: str | None = None, mtu: int | None = None,
        group: int | None = None,
    ) -> None:
        """A veth ``name`` here whose other end ``peer`` is born in the namespace file ``peer_netns``."""
        fd = os.open(peer_netns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self.request(RTM_NEWLINK, veth_request(name, peer, fd, peer_mac, mtu, group), NLM_F_CREATE | NLM_F_EXCL)
        finally:
            os.close(fd)

    def set_link(self, index: int, *, up: bool = False, master: int | None = None, mac: str | None = None) -> None:
        self.request(RTM_SETLINK, setlink_request(index, up=up, master=master, mac=mac))

    def del_link(self, index: int) -> None:
        self.request(RTM_DELLINK, ifinfomsg(index))

    def del_group(self, group: int) -> None:
        """Delete every link of the namespace in link group ``group`` in one request. The kernel
        unregisters them as one batch, so they share one wait for the network's RCU grace periods
        (about 30 ms here) where one deletion after another waits once each. ENODEV: none left."""
        if not group:
            raise ValueError("group 0 is every link's default group")
        self.request(RTM_DELLINK, ifinfomsg() + attr_u32(IFLA_GROUP, group))

    # ---- addresses and routes ----

    def addrs(self, index: int | None = None) -> list[Addr]:
        """IPv4 addresses, of one link when ``index`` is given (filtered here: a non-strict dump
        ignores the index)."""
        body = _IFADDR.pack(socket.AF_INET, 0, 0, 0, 0)
        found = (decode_addr(p) for t, p in self.dump(RTM_GETADDR, body) if t == RTM_NEWADDR)
        return [a for a in found if a is not None and (index is None or a.ifindex == index)]

    def add_addr(self, index: int, address: str, prefixlen: int) -> None:
        self.request(RTM_NEWADDR, addr_request(index, address, prefixlen), NLM_F_CREATE | NLM_F_EXCL)

    def routes(self) -> list[Route]:
        """IPv4 routes of every table (main, local, and any policy-routing one)."""
        body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)
        found = (decode_route(p) for t, p in self.dump(RTM_GETROUTE, body) if t == RTM_NEWROUTE)
        return [r for r in found if r is not None]
