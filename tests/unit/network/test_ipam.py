"""Subnet and address choice, names and hostfiles: pure logic, no kernel."""

from __future__ import annotations

import ipaddress

import pytest

from orchestrator.errors import NetworkFailure
from orchestrator.network import ipam, names
from orchestrator.network.driver import Attachment, default_gateway_index, mtu_from_driver_opts, order_attachments

N = ipaddress.IPv4Network
A = ipaddress.IPv4Address


def test_pick_subnet_skips_taken_prefixes() -> None:
    pool = N("10.231.0.0/16")
    assert ipam.pick_subnet(pool, 24, []) == N("10.231.0.0/24")
    assert ipam.pick_subnet(pool, 24, [N("10.231.0.0/23"), N("10.231.2.7/32")]) == N("10.231.3.0/24")
    with pytest.raises(NetworkFailure, match="no free"):
        ipam.pick_subnet(N("10.231.0.0/24"), 24, [N("10.0.0.0/8")])


def test_plan_ipam_defaults_and_validation() -> None:
    p = ipam.plan_ipam(N("10.231.5.0/24"), None, None)
    assert p.gateway == A("10.231.5.1") and p.ip_range is None
    with pytest.raises(NetworkFailure, match="gateway"):
        ipam.plan_ipam(N("10.231.5.0/24"), "10.231.6.1", None)
    with pytest.raises(NetworkFailure, match="ip_range"):
        ipam.plan_ipam(N("10.231.5.0/24"), None, "10.231.7.0/25")
    with pytest.raises(NetworkFailure, match="not a valid"):
        ipam.parse_net("10.231.5.0/33", "subnet")


def test_allocate_walks_on_and_never_reuses_a_used_address() -> None:
    p = ipam.plan_ipam(N("10.231.5.0/29"), None, None)  # usable: .2 .. .6
    used: set[ipaddress.IPv4Address] = set()
    cursor = 0
    got = []
    for _ in range(5):
        addr, cursor = ipam.allocate(p, used, cursor)
        used.add(addr)
        got.append(str(addr))
    assert got == [f"10.231.5.{i}" for i in range(2, 7)]
    with pytest.raises(NetworkFailure, match="no free address"):
        ipam.allocate(p, used, cursor)
    used.discard(A("10.231.5.3"))
    assert ipam.allocate(p, used, cursor)[0] == A("10.231.5.3")


def test_allocate_respects_ip_range() -> None:
    p = ipam.plan_ipam(N("10.231.5.0/24"), None, "10.231.5.128/30")
    addr, _ = ipam.allocate(p, set(), 0)
    assert addr == A("10.231.5.128")  # the range start is an ordinary host of the subnet


def test_requested_address_checks() -> None:
    p = ipam.plan_ipam(N("10.231.5.0/24"), None, None)
    assert ipam.check_requested(p, "10.231.5.9", set()) == A("10.231.5.9")
    for bad in ("10.231.5.1", "10.231.5.0", "10.231.5.255", "10.231.6.2"):
        with pytest.raises(NetworkFailure):
            ipam.check_requested(p, bad, set())
    with pytest.raises(NetworkFailure, match="in use"):
        ipam.check_requested(p, "10.231.5.9", {A("10.231.5.9")})


def test_names_fit_ifnamsiz_and_differ_per_root() -> None:
    b1 = names.bridge_name("/a", "shop_default")
    b2 = names.bridge_name("/b", "shop_default")
    assert b1 != b2 and len(b1) <= 15 and len(names.veth_name("/a", "x" * 64, "n")) <= 15
    assert names.bridge_name("/a", "shop_default", salt=1) != b1
    assert names.netns_name("nt-1/2") == "nt-1_2"
    with pytest.raises(ValueError):
        names.netns_name("...")


def test_attachment_order_and_default_gateway() -> None:
    atts = [Attachment("a"), Attachment("b", priority=5), Attachment("c", gw_priority=3)]
    ordered = order_attachments(atts)
    assert [a.network for a in ordered] == ["b", "a", "c"]
    assert default_gateway_index(ordered, [False, False, False]) == 2
    assert default_gateway_index(ordered, [False, False, True]) == 0
    assert default_gateway_index(ordered, [True, True, True]) is None


def test_mtu_driver_opt() -> None:
    assert mtu_from_driver_opts({"com.docker.network.driver.mtu": "1400"}) == 1400
    assert mtu_from_driver_opts({}) is None
    with pytest.raises(NetworkFailure):
        mtu_from_driver_opts({"com.docker.network.driver.mtu": "big"})
