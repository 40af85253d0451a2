"""Service discovery and published ports through the stack's network service process."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator.network import service as service_module
from orchestrator.network.dns import register_dns, register_link, unregister_dns
from orchestrator.network.driver import Attachment, NetworkDriver, NetworkSpec
from orchestrator.network.ports import PortBinding, PortInUse, check_ports_free, lookup_binding, register_ports
from orchestrator.network.service import ensure_service, notify_service, spawn_service
from orchestrator.network.service_pid import running_service
from tests.integration.network.conftest import cid, nsexec
from tests.integration.network.fakedns import FakeUpstream
from tests.integration.network.nethelpers import (
    can_connect,
    dns_query,
    sock_in,
    tcp_listener,
    tcp_roundtrip,
    udp_roundtrip,
)

pytestmark = pytest.mark.root


class Stack:
    """A project's networks and "containers" (bare namespaces), wired as the reconciler would."""

    def __init__(self, driver: NetworkDriver, project: str, resolv: Path, host_ns: str) -> None:
        self.d, self.project, self.resolv, self.host_ns = driver, project, resolv, host_ns
        self.gateways: dict[str, str] = {}

    def network(self, short: str, **kw: object) -> str:
        name = f"{self.project}_{short}"
        self.gateways[name] = self.d.ensure_network(NetworkSpec(name=name, project=self.project, **kw)).gateway  # type: ignore[arg-type]
        return name

    def container(
        self, service: str, nets: list[str], index: int = 1, aliases: list[str] | None = None
    ) -> tuple[str, str]:
        c = cid()
        ns = self.d.create_netns(c, project=self.project)
        eps = self.d.attach(c, ns, [Attachment(n) for n in nets])
        for ep in eps:
            names = [service, f"{self.project}-{service}-{index}", *(aliases or [])]
            register_dns(self.d.conn, self.project, ep.network, names, ep.address, c)
        return c, eps[0].address

    def start(self, ports: str | None = None) -> int:
        return ensure_service(
            self.d.paths, self.project, host_netns=self.host_ns, resolv_conf=str(self.resolv), ports=ports
        )


@pytest.fixture
def upstream(host_ns: str) -> Iterator[FakeUpstream]:
    up = FakeUpstream(host_ns)
    try:
        yield up
    finally:
        up.close()


def _stack(driver: NetworkDriver, project: str, upstream: FakeUpstream, tmp_path: Path, host_ns: str) -> Stack:
    return Stack(driver, project, upstream.resolv_conf(tmp_path), host_ns)


def test_services_talk_by_name_over_tcp_and_udp(
    driver: NetworkDriver, upstream: FakeUpstream, tmp_path: Path, host_ns: str
) -> None:
    s = _stack(driver, "shop", upstream, tmp_path, host_ns)
    net = s.network("default")
    web, _ = s.container("web", [net])
    db, db_ip = s.container("db", [net])
    s.start()
    gw = s.gateways[net]
    web_ns = driver.netns_path(web)
    rcode, addrs = dns_query(web_ns, gw, "db")
    assert (rcode, addrs) == ("NOERROR", [db_ip])
    assert dns_query(web_ns, gw, "shop-db-1", tcp=True) == ("NOERROR", [db_ip])
    assert dns_query(web_ns, gw, "db", "AAAA") == ("NOERROR", [])
    srv = tcp_listener(driver.netns_path(db), "0.0.0.0", 5432)
    try:
        assert tcp_roundtrip(web_ns, srv, addrs[0], 5432, b"select") == b"tceles"
    finally:
        srv.close()
    u = sock_in(driver.netns_path(db), socket.SOCK_DGRAM)
    try:
        u.bind(("0.0.0.0", 5353))
        assert udp_roundtrip(web_ns, u, addrs[0], 5353, b"dgram") == b"margd"
    finally:
        u.close()
    # a real resolver inside the container namespace: busybox nslookup against the gateway
    out = nsexec(web_ns.name, "/bin/busybox", "nslookup", "db", gw).stdout
    assert db_ip in out
    rev = ".".join(reversed(db_ip.split("."))) + ".in-addr.arpa"
    assert dns_query(web_ns, gw, rev, "PTR") == ("NOERROR", ["db."])


def test_other_network_cannot_resolve_and_names_follow_changes(
    driver: NetworkDriver, upstream: FakeUpstream, tmp_path: Path, host_ns: str
) -> None:
    s = _stack(driver, "shop", upstream, tmp_path, host_ns)
    front, back = s.network("front"), s.network("back")
    api, api_ip = s.container("api", [back])
    proxy, _ = s.container("proxy", [front, back])
    web, _ = s.container("web", [front])
    s.start()
    assert dns_query(driver.netns_path(proxy), s.gateways[front], "api") == ("NOERROR", [api_ip])
    assert dns_query(driver.netns_path(web), s.gateways[front], "api")[0] == "NXDOMAIN"
    unregister_dns(driver.conn, api)
    assert dns_query(driver.netns_path(proxy), s.gateways[back], "api")[0] == "NXDOMAIN"
    register_dns(driver.conn, "shop", back, ["api"], "10.231.99.99", api)
    assert dns_query(driver.netns_path(proxy), s.gateways[back], "api") == ("NOERROR", ["10.231.99.99"])
    # a network added while the service runs is served once the service has been told
    late = s.network("late")
    worker, worker_ip = s.container("worker", [late])
    assert notify_service(driver.paths, "shop")
    assert dns_query(driver.netns_path(worker), s.gateways[late], "worker") == ("NOERROR", [worker_ip])


def test_replicas_aliases_links_and_two_stacks(
    driver: NetworkDriver, upstream: FakeUpstream, tmp_path: Path, host_ns: str
) -> None:
    shop = _stack(driver, "shop", upstream, tmp_path, host_ns)
    blog = _stack(driver, "blog", upstream, tmp_path, host_ns)
    sn, bn = shop.network("default"), blog.network("default")
    ips = [shop.container("api", [sn], index=i, aliases=["backend"])[1] for i in (1, 2, 3)]
    client, _ = shop.container("client", [sn])
    register_dns(driver.conn, "shop", sn, ["database"], ips[0], "link-of-client", only_for=client)
    register_link(driver.conn, "shop", sn, "apis", "api", client)  # links: [api:apis]
    other, _ = shop.container("other", [sn])
    _, bapi_ip = blog.container("api", [bn])
    bclient, _ = blog.container("client", [bn])
    shop.start()
    blog.start()
    cns = driver.netns_path(client)
    first = dns_query(cns, shop.gateways[sn], "api")
    second = dns_query(cns, shop.gateways[sn], "api")
    assert sorted(first[1]) == sorted(ips) and first[1] != second[1]  # all replicas, rotated
    assert sorted(dns_query(cns, shop.gateways[sn], "backend")[1]) == sorted(ips)
    assert dns_query(cns, shop.gateways[sn], "shop-api-2") == ("NOERROR", [ips[1]])
    assert dns_query(cns, shop.gateways[sn], "database") == ("NOERROR", [ips[0]])
    assert dns_query(driver.netns_path(other), shop.gateways[sn], "database")[0] == "NXDOMAIN"
    assert sorted(dns_query(cns, shop.gateways[sn], "apis")[1]) == sorted(ips)
    assert dns_query(driver.netns_path(other), shop.gateways[sn], "apis")[0] == "NXDOMAIN"
    unregister_dns(driver.conn, client)  # the linking container goes: its link aliases go too
    assert driver.conn.execute("SELECT count(*) FROM net_dns_records WHERE only_for=?", (client,)).fetchone()[0] == 0
    assert dns_query(driver.netns_path(bclient), blog.gateways[bn], "api") == ("NOERROR", [bapi_ip])
    assert bapi_ip not in ips


def test_forwarding_and_quick_nxdomain(
    driver: NetworkDriver, upstream: FakeUpstream, tmp_path: Path, host_ns: str
) -> None:
    s = _stack(driver, "shop", upstream, tmp_path, host_ns)
    net, sealed = s.network("default"), s.network("sealed", internal=True)
    a, _ = s.container("a", [net])
    b, _ = s.container("b", [sealed])
    s.start()
    ans = driver.netns_path(a)
    # the client's socket time-out (0.5 s) is far below a resolver's 5 s retry: answers come at once
    assert dns_query(ans, s.gateways[net], "example.test", timeout=0.5) == ("NOERROR", ["10.231.250.250"])
    # the fake upstream speaks UDP only: a TCP query cannot be forwarded and fails at once, not late
    assert dns_query(ans, s.gateways[net], "example.test", tcp=True, timeout=1.5)[0] == "SERVFAIL"
    assert dns_query(ans, s.gateways[net], "nosuch", timeout=0.5)[0] == "NXDOMAIN"
    assert dns_query(ans, s.gateways[net], "nosuch.test", timeout=0.5)[0] == "NXDOMAIN"
    assert dns_query(ans, s.gateways[net], "a.corp.test", timeout=0.5)[0] == "NOERROR"  # search suffix stripped
    assert "nosuch." not in upstream.queries
    seen = len(upstream.queries)
    assert dns_query(driver.netns_path(b), s.gateways[sealed], "example.test", timeout=0.5)[0] == "NXDOMAIN"
    assert len(upstream.queries) == seen  # an internal network never asks outside


@pytest.mark.parametrize("mode", ["nft", "proxy"])
def test_published_tcp_and_udp_ports(
    driver: NetworkDriver, upstream: FakeUpstream, tmp_path: Path, host_ns: str, mode: str
) -> None:
    s = _stack(driver, "shop", upstream, tmp_path, host_ns)
    net = s.network("default")
    back = s.network("back")
    web, web_ip = s.container("web", [net])
    peer, _ = s.container("peer", [net])
    hidden, hidden_ip = s.container("hidden", [back])
    bindings = check_ports_free(
        [
            PortBinding("127.0.0.1", 18080, web_ip, 80, "tcp"),
            PortBinding("127.0.0.1", 18081, web_ip, 53, "udp"),
            PortBinding("0.0.0.0", 18082, web_ip, 80, "tcp"),
            PortBinding("::1", 18084, web_ip, 80, "tcp"),
            PortBinding("127.0.0.1", 18085, hidden_ip, 81, "tcp"),  # so both bridges forward (nft mode)
        ],
        host_netns=host_ns,
    )
    register_ports(driver.conn, "shop", "web", web, "shop-web-1", bindings[:4])
    register_ports(driver.conn, "shop", "hidden", hidden, "shop-hidden-1", bindings[4:])
    pid = s.start(mode)
    wns = driver.netns_path(web)
    srv = tcp_listener(wns, "0.0.0.0", 80)
    u = sock_in(wns, socket.SOCK_DGRAM)
    try:
        u.bind(("0.0.0.0", 53))
        assert tcp_roundtrip(host_ns, srv, "127.0.0.1", 18080, b"GET /") == b"/ TEG"
        assert udp_roundtrip(host_ns, u, "127.0.0.1", 18081, b"udp!") == b"!pdu"
        assert tcp_roundtrip(host_ns, srv, s.gateways[net], 18082, b"host-ip") == b"pi-tsoh"  # host's own address
        assert tcp_roundtrip(driver.netns_path(peer), srv, s.gateways[net], 18082, b"hairpin") == b"nipriah"
        assert tcp_roundtrip(host_ns, srv, "::1", 18084, b"v6", family=socket.AF_INET6) == b"6v"
        # forwarding for the hairpin must not open a path to another network through the host
        hid = tcp_listener(driver.netns_path(hidden), "0.0.0.0", 81)
        try:
            assert not can_connect(driver.netns_path(peer), hidden_ip, 81)
        finally:
            hid.close()
        # already taken, named, before anything is created
        with pytest.raises(PortInUse, match="18080") as err:
            check_ports_free([PortBinding("127.0.0.1", 18080, "", 80, "tcp")], host_netns=host_ns)
        assert "service api" in str(err.value.for_service("api"))
        assert check_ports_free(bindings, host_netns=host_ns, conn=driver.conn, project="shop") == bindings
        with pytest.raises(PortInUse, match="service web of stack shop"):
            check_ports_free(
                [PortBinding("0.0.0.0", 18080, "", 80)], host_netns=host_ns, conn=driver.conn, project="blog"
            )
        assert lookup_binding(driver.conn, "shop", "web", 80) == bindings[0]
        assert lookup_binding(driver.conn, "shop", "web", 53, "udp") == bindings[1]
        assert lookup_binding(driver.conn, "shop", "nope", 80) is None
        # a second start adopts the running service; a killed one is replaced and forwards again
        assert s.start() == pid
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if running_service(driver.paths, "shop") is None:
                break
            subprocess.run(["sleep", "0.02"], check=False)
        if mode == "nft":  # kernel rules forward while no pystack process runs at all
            assert tcp_roundtrip(host_ns, srv, "127.0.0.1", 18080, b"alone") == b"enola"
            assert udp_roundtrip(host_ns, u, "127.0.0.1", 18081, b"u2") == b"2u"
        new = s.start(mode)
        assert new != pid
        assert tcp_roundtrip(host_ns, srv, "127.0.0.1", 18080, b"again") == b"niaga"
        # a binding added later is picked up without a restart
        register_ports(driver.conn, "shop", "web", web, "shop-web-1", [PortBinding("127.0.0.1", 18083, web_ip, 80)])
        assert notify_service(driver.paths, "shop")
        assert tcp_roundtrip(host_ns, srv, "127.0.0.1", 18083, b"late") == b"etal"
    finally:
        srv.close()
        u.close()
    if mode == "nft":
        assert "pystack_" in nsexec(host_ns, "nft", "list", "tables").stdout
        # down's order: the service and its rules go first (beside the containers' removal),
        # then the links and records, without a second look at the service
        driver.release_stack_service("shop")
        assert running_service(driver.paths, "shop") is None
        assert "pystack_" not in nsexec(host_ns, "nft", "list", "tables").stdout
        assert driver.conn.execute("SELECT count(*) FROM net_ports").fetchone()[0] > 0
        driver.cleanup_stack("shop", service_released=True)
    else:
        driver.cleanup_stack("shop")
    assert running_service(driver.paths, "shop") is None
    assert "pystack_" not in nsexec(host_ns, "nft", "list", "tables").stdout
    assert driver.conn.execute("SELECT count(*) FROM net_ports").fetchone()[0] == 0


def test_notify_waits_for_a_look_that_began_after_the_request(
    driver: NetworkDriver, upstream: FakeUpstream, tmp_path: Path, host_ns: str
) -> None:
    """The ready file of an earlier look must not end the wait: the change may have come after it."""
    s = _stack(driver, "tok", upstream, tmp_path, host_ns)
    net = s.network("default")
    s.container("api", [net])
    pid = s.start()
    late = s.network("late")
    worker, worker_ip = s.container("worker", [late])
    os.kill(pid, signal.SIGSTOP)  # alive and ready, but it cannot look at the database again
    try:
        assert notify_service(driver.paths, "tok", timeout=0.5) is False
    finally:
        os.kill(pid, signal.SIGCONT)
    assert notify_service(driver.paths, "tok")
    assert dns_query(driver.netns_path(worker), s.gateways[late], "worker") == ("NOERROR", [worker_ip])


def test_notify_stops_waiting_once_the_service_has_left(
    driver: NetworkDriver, upstream: FakeUpstream, tmp_path: Path, host_ns: str
) -> None:
    """A service that a killed ``down`` asked to stop removes its pid file once its sockets are
    closed; a notify then has nothing to wait for (its caller probes the ports again at once)."""
    s = _stack(driver, "gone", upstream, tmp_path, host_ns)
    s.container("api", [s.network("default")])
    pid = s.start()
    pid_path = driver.paths.stack_run("gone") / "network.pid"
    os.kill(pid, signal.SIGSTOP)  # it cannot answer; its pid file goes, as when it has let go, mid-wait
    kept = pid_path.read_text()
    leave = threading.Timer(0.3, pid_path.unlink)
    try:
        leave.start()
        t0 = time.monotonic()
        assert notify_service(driver.paths, "gone", timeout=30) is False
        assert time.monotonic() - t0 < 10, "notify waited out its timeout for a service that had left"
    finally:
        leave.join()
        pid_path.write_text(kept)
        os.kill(pid, signal.SIGCONT)
    assert notify_service(driver.paths, "gone")
    driver.cleanup_stack("gone")
    assert running_service(driver.paths, "gone") is None


def test_a_burst_of_change_signals_still_lets_a_stop_through_at_once(
    driver: NetworkDriver, upstream: FakeUpstream, tmp_path: Path, host_ns: str
) -> None:
    """A down sends one SIGHUP per removed container; the SIGTERM after them must not wait behind
    one re-read per signal."""
    s = _stack(driver, "burst", upstream, tmp_path, host_ns)
    net = s.network("default")
    api, api_ip = s.container("api", [net])
    pid = s.start()
    for _ in range(200):
        os.kill(pid, signal.SIGHUP)
    assert notify_service(driver.paths, "burst")
    assert dns_query(driver.netns_path(api), s.gateways[net], "api") == ("NOERROR", [api_ip])
    for _ in range(200):
        os.kill(pid, signal.SIGHUP)
    os.kill(pid, signal.SIGTERM)
    gone = False
    for _ in range(100):  # 2 s
        if _exited(pid):
            gone = True
            break
        time.sleep(0.02)
    assert gone, "the service did not obey SIGTERM behind a burst of SIGHUPs"
    assert running_service(driver.paths, "burst") is None


def _exited(pid: int) -> bool:
    """Gone, or a zombie its parent has not reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_ensure_service_waits_for_a_copy_that_is_still_booting(
    driver: NetworkDriver, upstream: FakeUpstream, tmp_path: Path, host_ns: str
) -> None:
    """A killed ``up`` can leave a service booting (lock taken, nothing written yet): the next
    ``up``'s own copy then exits at once, and ``up`` must wait for the booting one, not fail."""
    s = _stack(driver, "boot", upstream, tmp_path, host_ns)
    net = s.network("default")
    api, api_ip = s.container("api", [net])
    run = driver.paths.stack_run("boot")
    run.mkdir(parents=True, exist_ok=True)
    got: list[object] = []
    with open(run / "network.lock", "wb") as lock:  # stands in for the booting copy
        fcntl.flock(lock, fcntl.LOCK_EX)
        waiter = threading.Thread(target=lambda: got.append(_try(s.start)))
        waiter.start()
        time.sleep(1.0)  # long enough for the waiter's own copy to find the lock taken and leave
        fcntl.flock(lock, fcntl.LOCK_UN)
    pid = s.start()  # the "booting" copy comes up now
    waiter.join(10)
    assert got == [pid]
    assert dns_query(driver.netns_path(api), s.gateways[net], "api") == ("NOERROR", [api_ip])


def _try(fn: Callable[[], int]) -> object:
    try:
        return fn()
    except Exception as exc:
        return exc


def test_a_service_spawned_early_is_the_one_ensure_service_waits_for(
    driver: NetworkDriver, upstream: FakeUpstream, tmp_path: Path, host_ns: str
) -> None:
    """``up`` spawns the service before its event loop exists; the later ``ensure_service``
    adopts that copy instead of starting a second one, and a copy killed meanwhile is replaced."""
    s = _stack(driver, "early", upstream, tmp_path, host_ns)
    net = s.network("default")
    api, api_ip = s.container("api", [net])
    key = (str(driver.paths.root), "early")
    spawn_service(driver.paths, "early", host_netns=host_ns, resolv_conf=str(s.resolv))
    first = service_module._booting[key]
    assert s.start() == first.pid
    assert service_module._booting[key] is first
    assert dns_query(driver.netns_path(api), s.gateways[net], "api") == ("NOERROR", [api_ip])
    # killed before it is adopted: ensure_service starts another instead of failing
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    driver.paths.stack_run("early").joinpath("network.pid").unlink()
    spawn_service(driver.paths, "early", host_netns=host_ns, resolv_conf=str(s.resolv))
    second = service_module._booting[key]
    assert second is not first
    os.kill(second.pid, signal.SIGKILL)
    pid = s.start()
    assert pid not in (first.pid, second.pid)
    assert dns_query(driver.netns_path(api), s.gateways[net], "api") == ("NOERROR", [api_ip])


def test_a_sighup_as_soon_as_the_pid_file_appears_is_a_request_not_an_end(
    driver: NetworkDriver, host_ns: str, tmp_path: Path
) -> None:
    """``up`` starts the service before the stack has a network: its first look has nothing to wait
    for, and a command may signal it the moment its pid file appears (a container made meanwhile)."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")
    pid_path = driver.paths.stack_run("early") / "network.pid"
    spawn_service(driver.paths, "early", host_netns=host_ns, resolv_conf=str(resolv))
    deadline = time.monotonic() + 10
    pid = None
    while pid is None and time.monotonic() < deadline:
        try:
            pid = int(pid_path.read_text())
        except (OSError, ValueError):
            time.sleep(0.0005)
    assert pid is not None
    os.kill(pid, signal.SIGHUP)
    try:
        assert notify_service(driver.paths, "early")  # it answers a request, so it is alive
        assert running_service(driver.paths, "early") == pid
    finally:
        driver.cleanup_stack("early")
    assert running_service(driver.paths, "early") is None
