"""The rtnetlink client on the real kernel, each test inside throwaway namespaces it creates.

Every operation is checked against a reader that shares no code with it: ``ip -j`` (iproute2's
JSON) for links, pyroute2 for addresses and routes. Names start with ``rtnltest``; addresses are
in 10.231.0.0/16 and exist only inside the test's own namespaces.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import NetworkFailure
from orchestrator.network import links
from orchestrator.network.rtnl import IFF_UP, NetlinkError, Rtnl
from tests.integration.network.conftest import sh

pytestmark = pytest.mark.root


def ip_json(ns: str, *args: str) -> list[dict[str, Any]]:
    out = sh("ip", "-n", ns, "-j", *args).stdout
    return list(json.loads(out)) if out.strip() else []


def ip_link(ns: str, name: str) -> dict[str, Any]:
    found = ip_json(ns, "-d", "link", "show", "dev", name)
    assert len(found) == 1
    return found[0]


@contextmanager
def throwaway_ns() -> Iterator[str]:
    """A namespace of the test's own; deleting it removes every link made in it."""
    name = f"rtnltest-{secrets.token_hex(4)}"
    sh("ip", "netns", "add", name)
    try:
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


@pytest.fixture
def ns() -> Iterator[str]:
    """Stands in for the host."""
    with throwaway_ns() as name:
        yield name


@pytest.fixture
def peer_ns() -> Iterator[str]:
    """Stands in for a container, where veth peers are born."""
    with throwaway_ns() as name:
        yield name


@pytest.fixture
def r(ns: str) -> Iterator[Rtnl]:
    with Rtnl(ns) as sock:
        yield sock


def test_a_socket_opened_by_name_or_path_sees_that_namespace_only(ns: str, r: Rtnl) -> None:
    here = os.readlink("/proc/thread-self/ns/net")
    sh("ip", "-n", ns, "link", "add", "rtnltest0", "type", "bridge")
    assert {link.name for link in r.links()} == {"lo", "rtnltest0"} == {x["ifname"] for x in ip_json(ns, "link")}
    with Rtnl(f"/run/netns/{ns}") as by_path:
        assert by_path.links() == r.links()
    assert os.readlink("/proc/thread-self/ns/net") == here  # the caller's thread never moved
    with pytest.raises(FileNotFoundError):
        Rtnl(f"rtnltest-missing-{secrets.token_hex(4)}")


def test_get_link_matches_ip_and_misses_cleanly(ns: str, r: Rtnl) -> None:
    sh("ip", "-n", ns, "link", "add", "rtnltestq", "type", "bridge")
    sh("ip", "-n", ns, "link", "property", "add", "dev", "rtnltestq", "altname", "rtnltestalt")
    link = r.get_link("rtnltestq")
    assert link is not None and link.ifindex == ip_link(ns, "rtnltestq")["ifindex"] and link.kind == "bridge"
    assert r.get_link("rtnltestalt") is None  # an alternative name is not the link's name
    assert r.get_link("rtnltestnone") is None
    assert r.get_link("rtnltest-too-long-a-name") is None


def test_add_bridge_without_stp_and_with_mtu(ns: str, r: Rtnl) -> None:
    r.add_bridge("rtnltestbr0", mtu=1400)
    r.add_bridge("rtnltestbr1")
    br0, br1 = ip_link(ns, "rtnltestbr0"), ip_link(ns, "rtnltestbr1")
    for br in (br0, br1):
        info = br["linkinfo"]
        assert info["info_kind"] == "bridge"
        assert info["info_data"]["stp_state"] == 0 and info["info_data"]["forward_delay"] == 0
    assert br0["mtu"] == 1400 and br1["mtu"] == 1500
    with pytest.raises(NetlinkError) as exc:
        r.add_bridge("rtnltestbr0")
    assert exc.value.code == 17


def test_set_link_up_and_master(ns: str, peer_ns: str, r: Rtnl) -> None:
    r.add_bridge("rtnltestbr")
    r.add_veth("rtnltestv", "eth0", f"/run/netns/{peer_ns}")
    br, veth = r.get_link("rtnltestbr"), r.get_link("rtnltestv")
    assert br is not None and veth is not None
    assert "UP" not in ip_link(ns, "rtnltestbr")["flags"]
    r.set_link(br.ifindex, up=True)
    assert "UP" in ip_link(ns, "rtnltestbr")["flags"]
    r.set_link(veth.ifindex, master=br.ifindex)
    got = ip_link(ns, "rtnltestv")
    assert got["master"] == "rtnltestbr" and "UP" not in got["flags"]
    r.set_link(veth.ifindex, up=True, master=br.ifindex)
    assert "UP" in ip_link(ns, "rtnltestv")["flags"]
    after = r.get_link("rtnltestv")
    assert after is not None and after.master == br.ifindex and after.flags & IFF_UP


def test_add_veth_creates_the_peer_inside_the_other_namespace(ns: str, peer_ns: str, r: Rtnl) -> None:
    r.add_veth("rtnltestv0", "eth0", f"/run/netns/{peer_ns}", peer_mac="02:42:0a:e7:07:02", mtu=1400)
    host = ip_link(ns, "rtnltestv0")
    assert host["linkinfo"]["info_kind"] == "veth" and host["mtu"] == 1400
    assert host["link_netnsid"] >= 0  # the other end lives in another namespace
    peer = ip_link(peer_ns, "eth0")
    assert peer["address"] == "02:42:0a:e7:07:02" and peer["mtu"] == 1400
    assert peer["ifindex"] == host["link_index"] and peer["link_index"] == host["ifindex"]
    assert "eth0" not in {x["ifname"] for x in ip_json(ns, "link")}
    with pytest.raises(NetlinkError) as exc:  # the peer name is taken in the container's namespace
        r.add_veth("rtnltestv1", "eth0", f"/run/netns/{peer_ns}")
    assert exc.value.code == 17
    assert r.get_link("rtnltestv1") is None


def test_del_link(ns: str, peer_ns: str, r: Rtnl) -> None:
    r.add_veth("rtnltestvd", "eth3", f"/run/netns/{peer_ns}")
    veth = r.get_link("rtnltestvd")
    assert veth is not None
    r.del_link(veth.ifindex)
    assert "rtnltestvd" not in {x["ifname"] for x in ip_json(ns, "link")}
    assert "eth3" not in {x["ifname"] for x in ip_json(peer_ns, "link")}  # a veth dies as a pair
    with pytest.raises(NetlinkError) as exc:
        r.del_link(veth.ifindex)
    assert exc.value.code == 19


def test_a_group_is_given_at_creation_and_deleted_in_one_request(ns: str, peer_ns: str, r: Rtnl) -> None:
    group = 0x40000abc
    r.add_bridge("rtnltestgb", group=group)
    r.add_veth("rtnltestgv", "eth5", f"/run/netns/{peer_ns}", group=group)
    r.add_bridge("rtnltestnb")  # not in the group
    assert ip_link(ns, "rtnltestgb")["group"] == ip_link(ns, "rtnltestgv")["group"] == str(group)
    assert ip_link(peer_ns, "eth5")["group"] == "default"  # the peer is the container's, not the group's
    assert {link.name for link in r.links() if link.group == group} == {"rtnltestgb", "rtnltestgv"}
    r.del_group(group)
    left = {x["ifname"] for x in ip_json(ns, "link")}
    assert "rtnltestnb" in left and not left & {"rtnltestgb", "rtnltestgv"}
    assert "eth5" not in {x["ifname"] for x in ip_json(peer_ns, "link")}  # the pair went with it
    with pytest.raises(NetlinkError) as exc:
        r.del_group(group)
    assert exc.value.code == 19
    links.delete_group(r, group)  # idempotent: an empty group is nothing to do


def test_addresses_and_routes_agree_with_pyroute2(ns: str, r: Rtnl) -> None:
    pyroute2 = pytest.importorskip("pyroute2")
    r.add_bridge("rtnltestba")
    r.add_bridge("rtnltestbb")
    a, b = r.get_link("rtnltestba"), r.get_link("rtnltestbb")
    assert a is not None and b is not None
    r.add_addr(a.ifindex, "10.231.7.1", 24)
    r.add_addr(a.ifindex, "10.231.8.1", 28)
    r.add_addr(b.ifindex, "10.231.9.1", 16)
    for idx in (a.ifindex, b.ifindex):
        r.set_link(idx, up=True)
    sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", ns, "route", "add", "10.231.200.0/24", "via", "10.231.7.2")
    sh("ip", "-n", ns, "route", "add", "default", "via", "10.231.7.254")
    sh("ip", "-n", ns, "route", "add", "10.231.201.0/24", "dev", "rtnltestbb", "table", "1000")
    with pytest.raises(NetlinkError) as exc:
        r.add_addr(a.ifindex, "10.231.7.1", 24)
    assert exc.value.code == 17
    with pyroute2.IPRoute(netns=ns) as oracle:
        want_addrs = {(x["index"], x.get_attr("IFA_ADDRESS"), x["prefixlen"]) for x in oracle.get_addr(family=2)}
        want_routes = {
            (x.get_attr("RTA_DST"), x["dst_len"], x.get_attr("RTA_TABLE")) for x in oracle.get_routes(family=2)
        }
    assert {(x.ifindex, x.address, x.prefixlen) for x in r.addrs()} == want_addrs
    assert {(x.address, x.prefixlen) for x in r.addrs(a.ifindex)} == {("10.231.7.1", 24), ("10.231.8.1", 28)}
    got_routes = {(x.dst, x.dst_len, x.table) for x in r.routes()}
    assert got_routes == want_routes
    assert {("10.231.201.0", 24, 1000), (None, 0, 254), ("10.231.200.0", 24, 254)} <= got_routes


def test_dumps_longer_than_one_datagram(ns: str, r: Rtnl) -> None:
    """More links and addresses than the kernel puts in one 32 KiB reply."""
    names = [f"rtnltestm{i}" for i in range(60)]
    batch = "".join(f"link add {n} type bridge\naddr add 10.231.{i}.1/24 dev {n}\n" for i, n in enumerate(names))
    subprocess.run(["ip", "-n", ns, "-batch", "-"], input=batch, text=True, check=True, timeout=30)
    assert {link.name for link in r.links()} == {"lo", *names} == {x["ifname"] for x in ip_json(ns, "link")}
    assert len(r.addrs()) == 60
    assert links.link_names(r) == {"lo", *names}


def test_many_requests_in_parallel_threads_each_with_its_socket(ns: str) -> None:
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            with Rtnl(ns) as mine:
                for i in range(10):
                    mine.add_bridge(f"rtnltestt{k}x{i}")
                    link = mine.get_link(f"rtnltestt{k}x{i}")
                    assert link is not None
                    mine.del_link(link.ifindex)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {x["ifname"] for x in ip_json(ns, "link")} == {"lo"}


# ---- links.py on top of it: the idempotence the driver relies on --------------------------------------


def test_links_functions_are_idempotent(ns: str, peer_ns: str, tmp_path: Path) -> None:
    peer = f"/run/netns/{peer_ns}"
    with links.netlink(ns) as ipr:
        for _ in range(2):
            links.ensure_bridge(ipr, "rtnltestlb", "10.231.20.1", 24, 1450)
        br = ip_link(ns, "rtnltestlb")
        assert br["mtu"] == 1450 and "UP" in br["flags"]
        addrs = [a for x in ip_json(ns, "addr", "show", "dev", "rtnltestlb") for a in x["addr_info"]]
        assert [(a["local"], a["prefixlen"]) for a in addrs if a["family"] == "inet"] == [("10.231.20.1", 24)]
        assert ipaddress_in(links.used_networks(ipr), "10.231.20.0/24")
        for _ in range(2):  # a re-run replaces the pair a crashed attach left behind
            links.add_veth(ipr, "rtnltestlv", "rtnltestlb", peer, "eth0", "02:42:0a:e7:14:05", 1450)
        veth = ip_link(ns, "rtnltestlv")
        assert veth["master"] == "rtnltestlb" and "UP" in veth["flags"]
        assert ip_link(peer_ns, "eth0")["address"] == "02:42:0a:e7:14:05"
        assert links.link_names(ipr) == {"lo", "rtnltestlb", "rtnltestlv"}
        with pytest.raises(NetworkFailure, match="bridge rtnltestnobr does not exist"):
            links.add_veth(ipr, "rtnltestlw", "rtnltestnobr", peer, "eth1", None, None)
        with pytest.raises(NetworkFailure, match="cannot create veth rtnltestlw"):
            links.add_veth(ipr, "rtnltestlw", "rtnltestlb", str(tmp_path), "eth1", None, None)
        links.delete_link(ipr, "rtnltestlv")
        links.delete_link(ipr, "rtnltestlv")
        links.delete_link(ipr, "rtnltestlb")
        assert links.lookup(ipr, "rtnltestlb") is None
        assert links.link_names(ipr) == {"lo"}


def ipaddress_in(nets: list[Any], cidr: str) -> bool:
    return any(str(n) == cidr for n in nets)


def test_a_bridge_keeps_its_mac_when_a_port_with_a_lower_one_joins(ns: str, peer_ns: str) -> None:
    """Without a MAC of its own a bridge takes its lowest port's: a container joining would change
    the gateway's MAC under the others (their cached ARP entry then sends DNS queries nowhere).
    A bridge made before the MAC was fixed gets it at the next ensure_bridge."""
    peer = f"/run/netns/{peer_ns}"
    with links.netlink(ns) as ipr:
        links.ensure_bridge(ipr, "rtnltestmb", "10.231.21.1", 24, None)
        fixed = links.bridge_mac("rtnltestmb")
        assert ip_link(ns, "rtnltestmb")["address"] == fixed
        links.add_veth(ipr, "rtnltestmv", "rtnltestmb", peer, "eth0", None, None)
        subprocess.run(["ip", "-n", ns, "link", "set", "rtnltestmv", "address", "02:00:00:00:00:01"], check=True)
        links.add_veth(ipr, "rtnltestmw", "rtnltestmb", peer, "eth1", None, None)
        assert ip_link(ns, "rtnltestmb")["address"] == fixed
        subprocess.run(["ip", "-n", ns, "link", "add", "rtnltestmo", "type", "bridge"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "rtnltestmv", "nomaster"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "rtnltestmv", "master", "rtnltestmo"], check=True)
        assert ip_link(ns, "rtnltestmo")["address"] == "02:00:00:00:00:01"  # what the kernel does alone
        links.ensure_bridge(ipr, "rtnltestmo", "10.231.22.1", 24, None)
        assert ip_link(ns, "rtnltestmo")["address"] == links.bridge_mac("rtnltestmo")
        for name in ("rtnltestmv", "rtnltestmw", "rtnltestmb", "rtnltestmo"):
            links.delete_link(ipr, name)
