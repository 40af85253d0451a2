"""Bridges, namespaces, veths and leases on the real kernel, inside a stand-in host namespace."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestrator.errors import NetworkFailure
from orchestrator.network import names
from orchestrator.network.driver import Attachment, NetworkDriver, NetworkSpec
from tests.integration.network.conftest import TEST_POOL, cid, nsexec, sh
from tests.integration.network.nethelpers import (
    can_connect,
    send_when_listening,
    sock_in,
    tcp_listener,
    tcp_roundtrip,
    udp_roundtrip,
)

pytestmark = pytest.mark.root


def _net(d: NetworkDriver, name: str, project: str = "p1", **kw: object) -> None:
    d.ensure_network(NetworkSpec(name=name, project=project, **kw))  # type: ignore[arg-type]


def test_two_containers_talk_over_tcp_and_udp(driver: NetworkDriver) -> None:
    _net(driver, "p1_default")
    a, b = cid(), cid()
    na = driver.create_netns(a, project="p1")
    nb = driver.create_netns(b, project="p1")
    ea = driver.attach(a, na, [Attachment("p1_default")])
    eb = driver.attach(b, nb, [Attachment("p1_default")])
    assert ea[0].address != eb[0].address
    srv = tcp_listener(nb, "0.0.0.0", 8000)
    try:
        assert tcp_roundtrip(na, srv, eb[0].address, 8000, b"hello") == b"olleh"
    finally:
        srv.close()
    u = sock_in(nb, socket.SOCK_DGRAM)
    try:
        u.bind(("0.0.0.0", 8001))
        assert udp_roundtrip(na, u, eb[0].address, 8001, b"ping") == b"gnip"
    finally:
        u.close()
    # a real process in the namespace too: busybox nc listening in b, talking to a
    nc = subprocess.Popen(
        ["ip", "netns", "exec", nb.name, "/bin/busybox", "nc", "-l", "-p", "8002"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert send_when_listening(na, eb[0].address, 8002, b"hello-nc\n")
        out, _ = nc.communicate(timeout=5)
    finally:
        nc.kill()
        nc.wait()
    assert out == "hello-nc\n"


def _links(host_ns: str) -> dict[str, str]:
    """name -> group of every link in the stand-in host namespace."""
    import json

    out = nsexec(host_ns, "ip", "-d", "-j", "link", "show").stdout
    return {x["ifname"]: str(x.get("group")) for x in json.loads(out)}


def test_a_stack_s_links_are_in_its_group_and_go_in_one_request(driver: NetworkDriver, host_ns: str) -> None:
    _net(driver, "g1_default", project="g1")
    _net(driver, "g2_default", project="g2")
    a, b, other = cid(), cid(), cid()
    ea = driver.attach(a, driver.create_netns(a, project="g1"), [Attachment("g1_default")])
    eb = driver.attach(b, driver.create_netns(b, project="g1"), [Attachment("g1_default")])
    eo = driver.attach(other, driver.create_netns(other, project="g2"), [Attachment("g2_default")])
    group = str(names.link_group(str(driver.paths.root), "g1"))
    bridge = driver.get_network("g1_default")
    assert bridge is not None
    mine = {bridge.bridge, ea[0].host_veth, eb[0].host_veth}
    before = _links(host_ns)
    assert {n for n, g in before.items() if g == group} == mine
    assert before[eo[0].host_veth] == str(names.link_group(str(driver.paths.root), "g2")) != group
    assert driver.stack_links("g1") == (True, int(group))
    driver.delete_link_group(int(group))
    after = _links(host_ns)
    assert not mine & set(after) and eo[0].host_veth in after
    assert nsexec(a, "ip", "-j", "link", "show").stdout.count("eth0") == 0  # the peer went with its veth
    assert driver.stack_links("g1") == (True, None)  # none of its links left: nothing to delete or wait for
    driver.cleanup_stack("g1")
    assert driver.get_network("g1_default") is None


def test_a_link_someone_else_put_in_the_group_stops_the_batch(driver: NetworkDriver, host_ns: str) -> None:
    _net(driver, "g3_default", project="g3")
    a = cid()
    ea = driver.attach(a, driver.create_netns(a, project="g3"), [Attachment("g3_default")])
    group = str(names.link_group(str(driver.paths.root), "g3"))
    nsexec(host_ns, "ip", "link", "add", "foreign0", "type", "bridge")
    nsexec(host_ns, "ip", "link", "set", "foreign0", "group", group)
    assert driver.stack_links("g3") == (False, None)  # no batch: the group is not all the stack's
    assert {"foreign0", ea[0].host_veth} <= set(_links(host_ns))
    driver.cleanup_stack("g3")  # the link-by-link removal still takes the stack's own
    left = _links(host_ns)
    assert "foreign0" in left and ea[0].host_veth not in left
    nsexec(host_ns, "ip", "link", "del", "foreign0")


def test_other_network_cannot_reach(driver: NetworkDriver) -> None:
    _net(driver, "p1_front")
    _net(driver, "p1_back")
    a, b = cid(), cid()
    ea = driver.attach(a, driver.create_netns(a, project="p1"), [Attachment("p1_front")])
    eb = driver.attach(b, driver.create_netns(b, project="p1"), [Attachment("p1_back")])
    srv = tcp_listener(driver.netns_path(b), "0.0.0.0", 8000)
    try:
        assert not can_connect(driver.netns_path(a), eb[0].address, 8000)
    finally:
        srv.close()
    assert ea[0].address.rsplit(".", 1)[0] != eb[0].address.rsplit(".", 1)[0]


def test_internal_network_has_no_way_out(driver: NetworkDriver, host_ns: str) -> None:
    # an address of the stand-in host outside every bridge plays "the outside world"
    nsexec(host_ns, "ip", "link", "add", "outside0", "type", "bridge")
    nsexec(host_ns, "ip", "addr", "add", "10.231.254.1/24", "dev", "outside0")
    nsexec(host_ns, "ip", "link", "set", "outside0", "up")
    outside = tcp_listener(host_ns, "10.231.254.1", 8100)
    try:
        _net(driver, "p1_open")
        _net(driver, "p1_sealed", internal=True)
        a, b = cid(), cid()
        driver.attach(a, driver.create_netns(a, project="p1"), [Attachment("p1_open")])
        eb = driver.attach(b, driver.create_netns(b, project="p1"), [Attachment("p1_sealed")])
        assert can_connect(driver.netns_path(a), "10.231.254.1", 8100)
        assert not can_connect(driver.netns_path(b), "10.231.254.1", 8100)
        routes = nsexec(driver.netns_path(b).name, "ip", "route").stdout
        assert "default" not in routes
        assert eb[0].address in nsexec(driver.netns_path(b).name, "ip", "-4", "addr").stdout
    finally:
        outside.close()


def test_ipam_config_mtu_mac_and_priorities(driver: NetworkDriver) -> None:
    info = driver.ensure_network(
        NetworkSpec(
            name="p1_custom",
            project="p1",
            subnet="10.231.77.0/24",
            gateway="10.231.77.254",
            ip_range="10.231.77.128/25",
            mtu=1400,
            labels={"tier": "x"},
        )
    )
    assert (info.subnet, info.gateway, info.mtu, info.labels) == (
        "10.231.77.0/24",
        "10.231.77.254",
        1400,
        {"tier": "x"},
    )
    assert len(info.bridge) <= 15
    _net(driver, "p1_other")
    c = cid()
    eps = driver.attach(
        c,
        driver.create_netns(c, project="p1"),
        [
            Attachment("p1_other", priority=1),
            Attachment("p1_custom", priority=10, gw_priority=5, mac_address="02:42:0a:e7:4d:99"),
        ],
    )
    assert [e.network for e in eps] == ["p1_custom", "p1_other"]
    assert [e.interface for e in eps] == ["eth0", "eth1"]
    assert eps[0].mac == "02:42:0a:e7:4d:99"
    assert eps[0].address.startswith("10.231.77.") and int(eps[0].address.rsplit(".", 1)[1]) >= 128
    ns = driver.netns_path(c).name
    assert "default via 10.231.77.254 dev eth0" in nsexec(ns, "ip", "route").stdout
    assert "mtu 1400" in nsexec(ns, "ip", "link", "show", "eth0").stdout
    c2 = cid()
    fixed = driver.attach(
        c2, driver.create_netns(c2, project="p1"), [Attachment("p1_custom", ipv4_address="10.231.77.200")]
    )
    assert fixed[0].address == "10.231.77.200"
    c3 = cid()
    with pytest.raises(NetworkFailure, match="already in use"):
        driver.attach(
            c3, driver.create_netns(c3, project="p1"), [Attachment("p1_custom", ipv4_address="10.231.77.200")]
        )
    with pytest.raises(NetworkFailure, match="overlaps"):
        driver.ensure_network(NetworkSpec(name="p2_clash", project="p2", subnet="10.231.77.0/25"))


def test_subnets_avoid_host_routes_and_names_stay_apart(driver: NetworkDriver, host_ns: str) -> None:
    nsexec(host_ns, "ip", "link", "add", "taken0", "type", "bridge")
    nsexec(host_ns, "ip", "addr", "add", "10.231.0.1/24", "dev", "taken0")
    nsexec(host_ns, "ip", "link", "set", "taken0", "up")
    a = driver.ensure_network(NetworkSpec(name="shop_default", project="shop"))
    b = driver.ensure_network(NetworkSpec(name="blog_default", project="blog"))
    assert a.subnet != "10.231.0.0/24" and b.subnet != "10.231.0.0/24"
    assert a.subnet != b.subnet and a.bridge != b.bridge
    again = driver.ensure_network(NetworkSpec(name="shop_default", project="shop"))
    assert again.bridge == a.bridge and again.subnet == a.subnet
    with pytest.raises(NetworkFailure, match="external"):
        driver.ensure_network(NetworkSpec(name="nope", project="shop", external=True))
    assert driver.ensure_network(NetworkSpec(name="blog_default", project="shop", external=True)).bridge == b.bridge


def test_shared_netns_survives_restart_of_owner(driver: NetworkDriver) -> None:
    """network_mode: service:x — the dependant joins x's pinned namespace, not x's process."""
    _net(driver, "p1_default")
    x = cid()
    nx = driver.create_netns(x, project="p1")
    driver.attach(x, nx, [Attachment("p1_default")])
    first = subprocess.Popen(["ip", "netns", "exec", nx.name, "/bin/busybox", "sleep", "30"])
    try:
        srv = tcp_listener(nx, "127.0.0.1", 8200)  # the dependant's localhost is x's localhost
        try:
            assert tcp_roundtrip(nx, srv, "127.0.0.1", 8200, b"one") == b"eno"
        finally:
            srv.close()
    finally:
        first.kill()
        first.wait()
    second = subprocess.Popen(["ip", "netns", "exec", nx.name, "/bin/busybox", "sleep", "30"])
    try:
        srv = tcp_listener(nx, "127.0.0.1", 8200)
        try:
            assert tcp_roundtrip(nx, srv, "127.0.0.1", 8200, b"two") == b"owt"
        finally:
            srv.close()
        assert "eth0" in nsexec(nx.name, "ip", "-br", "link").stdout
    finally:
        second.kill()
        second.wait()


CRASHER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from orchestrator.paths import Paths
    from orchestrator.network.driver import NetworkDriver, NetworkSpec, Attachment
    d = NetworkDriver(Paths(Path(sys.argv[1])), host_netns=sys.argv[2], pool=sys.argv[3])
    d.ensure_network(NetworkSpec(name="crash_default", project="crash"))
    d.ensure_network(NetworkSpec(name="crash_back", project="crash"))
    for i in range(3):
        c = sys.argv[4] + str(i)
        nets = [Attachment("crash_default"), Attachment("crash_back")]
        d.attach(c, d.create_netns(c, project="crash"), nets)
    # half-way: a lease and a namespace recorded, the veth never made
    c = sys.argv[4] + "x"
    ns = d.create_netns(c, project="crash")
    from orchestrator.network import wiring
    from orchestrator.network import links
    links.add_veth = lambda *a, **k: os.kill(os.getpid(), 9)
    d.attach(c, ns, [Attachment("crash_default")])
""")


def _snapshot(host_ns: str, prefix: str) -> tuple[set[str], set[str]]:
    """Links of the stand-in host, and the namespaces of this test (others come and go on a shared host)."""
    host_links = {line.split()[0].split("@")[0] for line in nsexec(host_ns, "ip", "-br", "link").stdout.splitlines()}
    return host_links, {p.name for p in Path("/run/netns").iterdir() if p.name.startswith(prefix)}


def test_cleanup_after_kill_leaves_nothing(driver: NetworkDriver, host_ns: str) -> None:
    prefix = cid()
    before = _snapshot(host_ns, prefix)
    proc = subprocess.run(
        [sys.executable, "-c", CRASHER, str(driver.paths.root), host_ns, TEST_POOL, prefix],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == -9, proc.stderr
    during = _snapshot(host_ns, prefix)
    assert len(during[0] - before[0]) >= 8 and len(during[1] - before[1]) == 4
    driver.cleanup_stack("crash")
    assert _snapshot(host_ns, prefix) == before
    for table in ("net_networks", "net_netns", "net_endpoints"):
        assert driver.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


ALLOCATOR = textwrap.dedent("""
    import sys
    from pathlib import Path
    from orchestrator.paths import Paths
    from orchestrator.network.driver import NetworkDriver, Attachment
    d = NetworkDriver(Paths(Path(sys.argv[1])), host_netns=sys.argv[2], pool=sys.argv[3])
    for i in range(int(sys.argv[5])):
        c = sys.argv[4] + str(i)
        ep = d.attach(c, d.create_netns(c, project="race"), [Attachment("race_default")])[0]
        print(ep.address, flush=True)
""")


def test_concurrent_processes_never_share_an_address(driver: NetworkDriver, host_ns: str) -> None:
    driver.ensure_network(NetworkSpec(name="race_default", project="race"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ALLOCATOR, str(driver.paths.root), host_ns, TEST_POOL, cid() + "-", "12"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    addrs = [a for out, _ in outs for a in out.split()]
    assert len(addrs) == 24 and len(set(addrs)) == 24


def test_detach_frees_and_delete_netns(driver: NetworkDriver, host_ns: str) -> None:
    _net(driver, "p1_default")
    c = cid()
    ns = driver.create_netns(c, project="p1")
    ep = driver.attach(c, ns, [Attachment("p1_default")])[0]
    assert ep.host_veth in sh("ip", "netns", "exec", host_ns, "ip", "-br", "link").stdout
    driver.detach(c)
    driver.detach(c)
    assert ep.host_veth not in sh("ip", "netns", "exec", host_ns, "ip", "-br", "link").stdout
    driver.delete_netns(c)
    driver.delete_netns(c)
    assert not ns.exists()
    c2 = cid()
    again = driver.attach(
        c2, driver.create_netns(c2, project="p1"), [Attachment("p1_default", ipv4_address=ep.address)]
    )
    assert again[0].address == ep.address
    with pytest.raises(NetworkFailure, match="still used"):
        driver.remove_network("p1_default")
