"""The nftables script for a stack's published ports (rendering only; applying it is integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.network.nftports import kernel_bindings, render, table_name
from orchestrator.network.ports import PortBinding


def test_kernel_bindings_leave_ipv6_to_the_proxy() -> None:
    bs = [
        PortBinding("0.0.0.0", 8080, "10.231.0.2", 80),
        PortBinding("::", 8080, "10.231.0.2", 80),
        PortBinding("127.0.0.1", 53, "10.231.0.2", 53, "udp"),
        PortBinding("0.0.0.0", 9, "", 9),
    ]
    assert kernel_bindings(bs) == [bs[0], bs[2]]


def test_render_is_atomic_and_scoped() -> None:
    t = table_name("/var/lib/pystack", "shop")
    assert t.startswith("pystack_") and t != table_name("/other", "shop")
    text = render(
        t,
        [PortBinding("0.0.0.0", 8080, "10.231.0.2", 80), PortBinding("127.0.0.1", 5353, "10.231.0.3", 53, "udp")],
        ["10.231.0.0/24"],
        [("ps-aaaa", False), ("ps-bbbb", True)],
    )
    lines = [line.strip() for line in text.splitlines()]
    assert lines[:2] == [f"table ip {t} {{}}", f"delete table ip {t}"]
    assert "tcp dport 8080 dnat to 10.231.0.2:80" in lines
    assert "ip daddr 127.0.0.1 udp dport 5353 dnat to 10.231.0.3:53" in lines
    assert "ct status dnat ip saddr { 10.231.0.0/24, 127.0.0.0/8 } masquerade" in lines
    assert sum("fib daddr type local jump ports" in line for line in lines) == 2
    assert 'iifname "ps-aaaa" oifname "ps-*" oifname != "ps-aaaa" drop' in lines
    assert 'iifname "ps-bbbb" oifname != "ps-bbbb" drop' in lines


def test_a_boot_with_nothing_to_forward_runs_no_nft_and_a_later_sync_clears_a_stale_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.network import nftports
    from orchestrator.network import schema as _schema  # noqa: F401  (registers the tables)
    from orchestrator.state.db import connect

    conn = connect(tmp_path / "state.db")
    applied: list[tuple[str, int]] = []
    monkeypatch.setattr(nftports, "apply", lambda table, want, *rest: applied.append((table, len(want))))
    kernel = nftports.KernelPorts(conn, str(tmp_path), "boot")
    kernel.sync(defer_empty=True)  # the service's boot, before up has made any container
    assert applied == []
    kernel.sync()  # right after it is ready: a table left by a crashed run goes
    assert applied == [(kernel.table, 0)]
    kernel.sync(defer_empty=True)
    kernel.sync()
    assert applied == [(kernel.table, 0)]  # nothing changed since: no nft run
    conn.close()
