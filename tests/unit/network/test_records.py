"""Who sees which name: the DNS scoping and answer rules over a real (temporary) state database."""

from __future__ import annotations

from pathlib import Path

from dnslib import QTYPE, RCODE, DNSRecord

from orchestrator.network.dns import DnsServer, read_resolv_conf
from orchestrator.network.records import Listen, RecordView, register_dns, register_link, unregister_dns
from orchestrator.state.db import connect


def _db(tmp_path: Path):  # type: ignore[no-untyped-def]
    conn = connect(tmp_path / "state.db")
    for name, subnet, internal in (
        ("p_front", "10.231.1.0/24", 0),
        ("p_back", "10.231.2.0/24", 0),
        ("p_sealed", "10.231.3.0/24", 1),
    ):
        conn.execute(
            "INSERT INTO net_networks (name, project, bridge, subnet, gateway, internal, status, created)"
            " VALUES (?, 'p', ?, ?, ?, ?, 'ready', 0)",
            (name, "ps-" + name, subnet, subnet.replace("0/24", "1"), internal),
        )
    for cid, net, addr in (
        ("web", "p_front", "10.231.1.2"),
        ("api", "p_back", "10.231.2.2"),
        ("proxy", "p_front", "10.231.1.3"),
        ("proxy", "p_back", "10.231.2.3"),
    ):
        conn.execute(
            "INSERT INTO net_endpoints (container_id, network, project, interface, host_veth, address, prefixlen,"
            " gateway) VALUES (?, ?, 'p', 'eth0', ?, ?, 24, 'x')",
            (cid, net, f"v-{cid}-{net}", addr),
        )
    register_dns(conn, "p", "p_back", ["api", "API", "p-api-1"], "10.231.2.2", "api")
    register_dns(conn, "p", "p_front", ["web"], "10.231.1.2", "web")
    return conn


def test_scoping_by_shared_network(tmp_path: Path) -> None:
    view = RecordView(_db(tmp_path), "p")
    assert view.resolve("api", "p_front", "10.231.1.3") == ["10.231.2.2"]  # proxy shares p_back
    assert view.resolve("API.", "p_back", "10.231.2.3") == ["10.231.2.2"]
    assert view.resolve("api", "p_front", "10.231.1.2") is None  # web does not
    assert view.resolve("web", "p_front", "10.231.9.9") == ["10.231.1.2"]  # unknown asker: that network only
    assert [x.network for x in view.listens()] == ["p_back", "p_front", "p_sealed"]


def test_changes_are_seen_immediately_and_links_follow(tmp_path: Path) -> None:
    conn = _db(tmp_path)
    view = RecordView(conn, "p")
    writer = connect(tmp_path / "state.db")
    assert view.resolve("api", "p_back", "10.231.2.3") == ["10.231.2.2"]
    unregister_dns(writer, "api")
    assert view.resolve("api", "p_back", "10.231.2.3") is None
    register_dns(writer, "p", "p_back", ["api"], "10.231.2.9", "api2")
    register_link(writer, "p", "p_back", "backend", "api", "proxy")
    assert view.resolve("backend", "p_back", "10.231.2.3") == ["10.231.2.9"]
    assert view.resolve("backend", "p_back", "10.231.2.2") is None


def _ask(server: DnsServer, name: str, listen: Listen, src: str, qtype: str = "A") -> DNSRecord | None:
    reply = server.answer_local(DNSRecord.question(name, qtype), listen, src)
    return reply


def test_answers(tmp_path: Path) -> None:
    conn = _db(tmp_path)
    (tmp_path / "resolv.conf").write_text("nameserver 127.0.0.77\nsearch corp.test\n")
    server = DnsServer(conn, resolv_conf=tmp_path / "resolv.conf")
    server.view = RecordView(conn, "p")
    back = Listen("p_back", "10.231.2.1", False)
    sealed = Listen("p_sealed", "10.231.3.1", True)
    a = _ask(server, "api", back, "10.231.2.3")
    assert a is not None and [str(r.rdata) for r in a.rr] == ["10.231.2.2"] and a.rr[0].ttl == 0
    aaaa = _ask(server, "api", back, "10.231.2.3", "AAAA")
    assert aaaa is not None and aaaa.header.rcode == RCODE.NOERROR and not aaaa.rr
    assert _ask(server, "api.corp.test", back, "10.231.2.3").rr  # type: ignore[union-attr]
    nx = _ask(server, "nosuch", back, "10.231.2.3")
    assert nx is not None and nx.header.rcode == RCODE.NXDOMAIN
    assert _ask(server, "example.org", back, "10.231.2.3") is None  # forwarded
    sealed_nx = _ask(server, "example.org", sealed, "10.231.3.5")
    assert sealed_nx is not None and sealed_nx.header.rcode == RCODE.NXDOMAIN
    ptr = _ask(server, "2.2.231.10.in-addr.arpa", back, "10.231.2.3", "PTR")
    assert ptr is not None and ptr.rr[0].rtype == QTYPE.PTR and str(ptr.rr[0].rdata) == "api."


def test_read_resolv_conf(tmp_path: Path) -> None:
    p = tmp_path / "r"
    p.write_text("# c\nnameserver 1.2.3.4\nnameserver 5.6.7.8 # x\nsearch A.example b.example.\noptions ndots:2\n")
    assert read_resolv_conf(p) == (["1.2.3.4", "5.6.7.8"], ["a.example", "b.example"])
    assert read_resolv_conf(tmp_path / "missing") == ([], [])
