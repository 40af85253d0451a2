"""rtnetlink message encoding and decoding, and the request/dump loop over a scripted socket: no kernel.

Expected bytes are spelled out with ``struct`` from the uapi layouts rather than produced by the
module's own encoders, so an encoder and a decoder cannot agree on the same mistake.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Iterator

import pytest

from orchestrator.network import rtnl
from orchestrator.network.rtnl import Addr, Link, NetlinkError, Route, Rtnl

IFINFO = struct.Struct("=BxHiII")


def raw_attr(kind: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def raw_msg(kind: int, flags: int, seq: int, payload: bytes) -> bytes:
    return struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, 0) + payload


# ---- encoding ---------------------------------------------------------------------------------------


def test_attributes_are_padded_to_four_bytes_but_their_length_is_not() -> None:
    assert rtnl.attr_str(rtnl.IFLA_IFNAME, "br0") == struct.pack("=HH", 8, 3) + b"br0\0"
    assert rtnl.attr_str(rtnl.IFLA_IFNAME, "eth0") == struct.pack("=HH", 9, 3) + b"eth0\0" + b"\0\0\0"
    assert rtnl.attr_u32(rtnl.IFLA_MTU, 1400) == struct.pack("=HHI", 8, 4, 1400)
    assert rtnl.attr(7, b"") == struct.pack("=HH", 4, 7)
    assert [rtnl.align(n) for n in (0, 1, 4, 5, 8, 9)] == [0, 4, 4, 8, 8, 12]


def test_message_header_counts_itself() -> None:
    body = b"\1\2\3\4"
    assert rtnl.message(18, 0x5, 42, body) == struct.pack("=IHHII", 20, 18, 0x5, 42, 0) + body


def test_bridge_request_without_stp_or_forward_delay() -> None:
    data = raw_attr(2, struct.pack("=HHI", 8, 5, 0) + struct.pack("=HHI", 8, 1, 0))
    linkinfo = raw_attr(18, raw_attr(1, b"bridge\0") + data)
    expected = IFINFO.pack(0, 0, 0, 0, 0) + raw_attr(3, b"pst0\0") + raw_attr(4, struct.pack("=I", 1450)) + linkinfo
    assert rtnl.bridge_request("pst0", 1450) == expected
    assert rtnl.bridge_request("pst0") == IFINFO.pack(0, 0, 0, 0, 0) + raw_attr(3, b"pst0\0") + linkinfo


def test_veth_request_carries_the_peer_as_an_ifinfomsg_with_its_own_attributes() -> None:
    peer = (
        IFINFO.pack(0, 0, 0, 0, 0)
        + raw_attr(3, b"eth0\0")
        + raw_attr(28, struct.pack("=I", 7))
        + raw_attr(1, bytes.fromhex("02420ae70502"))
        + raw_attr(4, struct.pack("=I", 1400))
    )
    linkinfo = raw_attr(18, raw_attr(1, b"veth\0") + raw_attr(2, raw_attr(1, peer)))
    expected = IFINFO.pack(0, 0, 0, 0, 0) + raw_attr(3, b"vh0\0") + raw_attr(4, struct.pack("=I", 1400)) + linkinfo
    assert rtnl.veth_request("vh0", "eth0", 7, "02:42:0a:e7:05:02", 1400) == expected


def test_veth_request_leaves_out_what_is_not_given() -> None:
    body = rtnl.veth_request("vh0", "eth1", 9)
    top = rtnl.attrs(body, 16)
    assert set(top) == {rtnl.IFLA_IFNAME, rtnl.IFLA_LINKINFO}
    data = rtnl.attrs(rtnl.attrs(top[rtnl.IFLA_LINKINFO])[rtnl.IFLA_INFO_DATA])
    peer = rtnl.attrs(data[rtnl.VETH_INFO_PEER], 16)
    assert peer == {rtnl.IFLA_IFNAME: b"eth1\0", rtnl.IFLA_NET_NS_FD: struct.pack("=I", 9)}


def test_setlink_changes_only_the_up_flag() -> None:
    assert rtnl.setlink_request(5, up=True) == IFINFO.pack(0, 0, 5, 1, 1)
    assert rtnl.setlink_request(5, master=3) == IFINFO.pack(0, 0, 5, 0, 0) + raw_attr(10, struct.pack("=I", 3))
    master = raw_attr(10, struct.pack("=I", 3))
    assert rtnl.setlink_request(5, up=True, master=3) == IFINFO.pack(0, 0, 5, 1, 1) + master


def test_addr_request_sets_local_and_address() -> None:
    ip = socket.inet_aton("10.231.4.1")
    expected = struct.pack("=BBBBI", 2, 24, 0, 0, 6) + raw_attr(2, ip) + raw_attr(1, ip)
    assert rtnl.addr_request(6, "10.231.4.1", 24) == expected
    with pytest.raises(ValueError):
        rtnl.addr_request(6, "10.231.4.1", 33)
    with pytest.raises(ValueError, match="IPv4"):
        rtnl.addr_request(6, "10.231.4", 24)  # not a shorthand for 10.231.0.4


@pytest.mark.parametrize("name", ["", "x" * 16, "a\0b", "é" * 8])
def test_interface_names_the_kernel_would_refuse_are_refused_here(name: str) -> None:
    with pytest.raises(ValueError, match="interface name"):
        rtnl.bridge_request(name)


def test_mac_addresses() -> None:
    assert rtnl.mac_bytes("02:42:AC:11:00:02") == b"\x02\x42\xac\x11\x00\x02"
    for bad in ("02:42:ac:11:00", "02:42:ac:11:00:02:03", "zz:42:ac:11:00:02"):
        with pytest.raises(ValueError):
            rtnl.mac_bytes(bad)


# ---- decoding ---------------------------------------------------------------------------------------


def test_messages_splits_a_datagram_and_refuses_truncation() -> None:
    data = raw_msg(16, 2, 7, b"abcd") + raw_msg(3, 2, 7, struct.pack("=i", 0))
    assert list(rtnl.messages(data)) == [(16, 2, 7, b"abcd"), (3, 2, 7, b"\0\0\0\0")]
    with pytest.raises(ValueError, match="malformed"):
        list(rtnl.messages(raw_msg(16, 0, 1, b"abcd")[:-2]))
    with pytest.raises(ValueError, match="malformed"):
        list(rtnl.messages(struct.pack("=IHHII", 8, 16, 0, 1, 0)))


def test_attrs_masks_nested_and_byteorder_flags_and_refuses_truncation() -> None:
    buf = raw_attr(0x8000 | 18, b"abcd") + raw_attr(0x4000 | 3, b"x\0")
    assert rtnl.attrs(buf) == {18: b"abcd", 3: b"x\0"}
    with pytest.raises(ValueError, match="malformed"):
        rtnl.attrs(struct.pack("=HH", 40, 3) + b"short")
    with pytest.raises(ValueError, match="malformed"):
        rtnl.attrs(struct.pack("=HH", 2, 3))


def test_a_link_group_is_a_top_level_u32_of_the_new_link_never_of_the_peer() -> None:
    group = raw_attr(27, struct.pack("=I", 0x40001234))
    assert rtnl.bridge_request("pst0", group=0x40001234).startswith(
        IFINFO.pack(0, 0, 0, 0, 0) + raw_attr(3, b"pst0\0") + group)
    body = rtnl.veth_request("vh0", "eth1", 9, group=0x40001234)
    top = rtnl.attrs(body, 16)
    assert top[rtnl.IFLA_GROUP] == struct.pack("=I", 0x40001234)
    peer = rtnl.attrs(rtnl.attrs(rtnl.attrs(top[rtnl.IFLA_LINKINFO])[rtnl.IFLA_INFO_DATA])[rtnl.VETH_INFO_PEER], 16)
    assert rtnl.IFLA_GROUP not in peer
    assert rtnl.decode_link(IFINFO.pack(0, 0, 3, 0, 0) + raw_attr(3, b"pv0\0") + group).group == 0x40001234


def test_decode_link() -> None:
    linkinfo = raw_attr(0x8000 | 18, raw_attr(1, b"bridge\0") + raw_attr(2, b""))
    payload = (
        IFINFO.pack(0, 1, 12, 0x1003, 0)
        + raw_attr(3, b"pst-br\0")
        + raw_attr(4, struct.pack("=I", 1500))
        + raw_attr(10, struct.pack("=I", 4))
        + raw_attr(1, bytes.fromhex("0242ac110002"))
        + raw_attr(99, b"unknown attributes are skipped")
        + linkinfo
    )
    assert rtnl.decode_link(payload) == Link(12, "pst-br", 0x1003, 1500, 4, "bridge", "02:42:ac:11:00:02")
    assert rtnl.decode_link(IFINFO.pack(0, 0, 3, 0, 0) + raw_attr(3, b"lo\0")) == Link(3, "lo")


def test_decode_addr_prefers_address_and_skips_other_families() -> None:
    head = struct.pack("=BBBBI", 2, 24, 0x80, 0, 5)
    local, peer = socket.inet_aton("10.231.0.1"), socket.inet_aton("10.231.0.2")
    assert rtnl.decode_addr(head + raw_attr(2, local) + raw_attr(1, peer)) == Addr(5, "10.231.0.2", 24)
    assert rtnl.decode_addr(head + raw_attr(2, local)) == Addr(5, "10.231.0.1", 24)
    v6 = struct.pack("=BBBBI", 10, 64, 0, 0, 5) + raw_attr(1, b"\xfe\x80" + b"\0" * 14)
    assert rtnl.decode_addr(v6) is None


def test_decode_route_reads_the_32_bit_table_and_a_missing_dst() -> None:
    head = struct.pack("=BBBBBBBBI", 2, 16, 0, 0, 252, 4, 0, 1, 0)
    dst = raw_attr(1, socket.inet_aton("10.231.0.0"))
    assert rtnl.decode_route(head + dst + raw_attr(15, struct.pack("=I", 1000))) == Route("10.231.0.0", 16, 1000)
    default = struct.pack("=BBBBBBBBI", 2, 0, 0, 0, 254, 4, 0, 1, 0)
    assert rtnl.decode_route(default) == Route(None, 0, 254)
    assert rtnl.decode_route(struct.pack("=BBBBBBBBI", 10, 0, 0, 0, 254, 4, 0, 1, 0)) is None


def test_decode_error_ack_plain_capped_and_with_extended_ack() -> None:
    request = raw_msg(16, 0x605, 9, b"\0" * 16)
    assert rtnl.decode_error(struct.pack("=i", 0) + request[:16], rtnl.NLM_F_CAPPED) == (0, None)
    assert rtnl.decode_error(struct.pack("=i", -17) + request, 0) == (17, None)
    msg = raw_attr(rtnl.NLMSGERR_ATTR_MSG, b"Unknown device type\0")
    capped = struct.pack("=i", -95) + request[:16] + msg
    assert rtnl.decode_error(capped, rtnl.NLM_F_CAPPED | rtnl.NLM_F_ACK_TLVS) == (95, "Unknown device type")
    full = struct.pack("=i", -95) + request + msg
    assert rtnl.decode_error(full, rtnl.NLM_F_ACK_TLVS) == (95, "Unknown device type")
    with pytest.raises(ValueError):
        rtnl.decode_error(b"\0\0", 0)


def test_netlink_error_carries_a_positive_errno_as_code() -> None:
    e = NetlinkError(errno.EEXIST)
    assert e.code == e.errno == 17 and isinstance(e, OSError)
    assert str(e) == "[Errno 17] File exists"
    assert str(NetlinkError(errno.EOPNOTSUPP, "Unknown device type")).endswith("(Unknown device type)")


def test_netns_path_takes_a_name_or_a_path() -> None:
    assert str(rtnl.netns_path("nett-1")) == "/run/netns/nett-1"
    assert str(rtnl.netns_path("/proc/1/ns/net")) == "/proc/1/ns/net"


# ---- the request loop, over a scripted socket -------------------------------------------------------


class ScriptedSocket:
    """Answers each request with datagrams built from its sequence number."""

    def __init__(self, *answers: list[bytes] | None) -> None:
        self.answers = list(answers)
        self.sent: list[bytes] = []
        self.pending: Iterator[bytes] = iter(())

    def send(self, data: bytes) -> int:
        self.sent.append(data)
        seq = struct.unpack_from("=IHHII", data)[3]
        script = self.answers.pop(0)
        assert script is not None
        self.pending = iter([d.replace(b"SEQ!", struct.pack("=I", seq)) for d in script])
        return len(data)

    def recvmsg(self, size: int) -> tuple[bytes, list[object], int, object]:
        return next(self.pending), [], 0, None

    def close(self) -> None:
        pass


def reply(kind: int, flags: int, payload: bytes, seq: bytes = b"SEQ!") -> bytes:
    return struct.pack("=IHH", 16 + len(payload), kind, flags) + seq + b"\0\0\0\0" + payload


def scripted(*answers: list[bytes] | None) -> tuple[Rtnl, ScriptedSocket]:
    r = Rtnl.__new__(Rtnl)
    fake = ScriptedSocket(*answers)
    r._sock = fake  # type: ignore[assignment]
    r._seq = 0
    return r, fake


def link_payload(index: int, name: str) -> bytes:
    return IFINFO.pack(0, 1, index, 0, 0) + raw_attr(3, name.encode() + b"\0")


ACK = struct.pack("=i", 0) + b"\0" * 16
DONE = struct.pack("=i", 0)


def test_request_asks_for_an_ack_and_skips_replies_to_older_requests() -> None:
    stale = reply(rtnl.NLMSG_ERROR, 0, struct.pack("=i", -17) + b"\0" * 16, seq=struct.pack("=I", 999))
    r, fake = scripted([stale + reply(rtnl.NLMSG_ERROR, rtnl.NLM_F_CAPPED, ACK)])
    assert r.request(rtnl.RTM_SETLINK, b"x" * 16) == []
    _n, kind, flags, seq, _pid = struct.unpack_from("=IHHII", fake.sent[0])
    assert (kind, flags, seq) == (rtnl.RTM_SETLINK, rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK, 1)


def test_request_raises_the_kernel_errno() -> None:
    r, _ = scripted([reply(rtnl.NLMSG_ERROR, 0, struct.pack("=i", -19) + b"\0" * 16)])
    with pytest.raises(NetlinkError) as info:
        r.request(rtnl.RTM_DELLINK, rtnl.ifinfomsg(4))
    assert info.value.code == 19


def test_get_link_returns_none_for_enodev_and_for_an_altname_match() -> None:
    enodev = reply(rtnl.NLMSG_ERROR, 0, struct.pack("=i", -19) + b"\0" * 16)
    other = reply(rtnl.RTM_NEWLINK, 0, link_payload(8, "realname")) + reply(rtnl.NLMSG_ERROR, 0, ACK)
    mine = reply(rtnl.RTM_NEWLINK, 0, link_payload(9, "pst0")) + reply(rtnl.NLMSG_ERROR, 0, ACK)
    r, _ = scripted([enodev], [other], [mine])
    assert r.get_link("pst0") is None
    assert r.get_link("pst0") is None
    link = r.get_link("pst0")
    assert link is not None and link.ifindex == 9
    assert r.get_link("a-name-longer-than-15") is None  # never sent: the fake would run out of answers


def test_dump_reads_every_part_until_done() -> None:
    multi = rtnl.NLM_F_MULTI
    part1 = reply(rtnl.RTM_NEWLINK, multi, link_payload(1, "lo")) + reply(rtnl.RTM_NEWLINK, multi, link_payload(2, "a"))
    part2 = reply(rtnl.RTM_NEWLINK, multi, link_payload(3, "b")) + reply(rtnl.NLMSG_DONE, multi, DONE)
    r, fake = scripted([part1, part2])
    assert [link.name for link in r.links()] == ["lo", "a", "b"]
    flags = struct.unpack_from("=IHHII", fake.sent[0])[2]
    assert flags == rtnl.NLM_F_REQUEST | rtnl.NLM_F_DUMP


def test_an_interrupted_dump_is_read_again() -> None:
    multi = rtnl.NLM_F_MULTI
    torn = [reply(rtnl.RTM_NEWLINK, multi | rtnl.NLM_F_DUMP_INTR, link_payload(1, "old"))]
    torn.append(reply(rtnl.NLMSG_DONE, multi | rtnl.NLM_F_DUMP_INTR, DONE))
    whole = [reply(rtnl.RTM_NEWLINK, multi, link_payload(1, "new")) + reply(rtnl.NLMSG_DONE, multi, DONE)]
    r, fake = scripted(torn, whole)
    assert [link.name for link in r.links()] == ["new"]
    assert len(fake.sent) == 2
    r, _ = scripted(*[torn] * 5)
    with pytest.raises(NetlinkError) as info:
        r.links()
    assert info.value.code == errno.EINTR


def test_a_dump_that_fails_raises() -> None:
    r, _ = scripted([reply(rtnl.NLMSG_DONE, rtnl.NLM_F_MULTI, struct.pack("=i", -errno.ENOBUFS))])
    with pytest.raises(NetlinkError) as info:
        r.routes()
    assert info.value.code == errno.ENOBUFS


def test_addrs_filters_by_index() -> None:
    def addr(index: int, ip: str) -> bytes:
        payload = struct.pack("=BBBBI", 2, 24, 0, 0, index) + raw_attr(1, socket.inet_aton(ip))
        return reply(rtnl.RTM_NEWADDR, rtnl.NLM_F_MULTI, payload)

    answer = [addr(1, "127.0.0.1") + addr(4, "10.231.0.1") + reply(rtnl.NLMSG_DONE, rtnl.NLM_F_MULTI, DONE)]
    r, _ = scripted(answer, answer)
    assert r.addrs() == [Addr(1, "127.0.0.1", 24), Addr(4, "10.231.0.1", 24)]
    assert r.addrs(4) == [Addr(4, "10.231.0.1", 24)]


def test_deleting_a_group_names_it_and_no_link_and_refuses_the_default_group() -> None:
    r, fake = scripted([reply(rtnl.NLMSG_ERROR, 0, ACK)])
    r.del_group(0x40001234)
    _n, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", fake.sent[0])
    assert kind == rtnl.RTM_DELLINK
    assert fake.sent[0][16:] == IFINFO.pack(0, 0, 0, 0, 0) + raw_attr(27, struct.pack("=I", 0x40001234))
    with pytest.raises(ValueError, match="default group"):
        r.del_group(0)
