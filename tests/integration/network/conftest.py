"""Fixtures for network tests: a throwaway namespace standing in for the host, and a driver in it.

Nothing here touches the real host's links, routes, sysctls or firewall: bridges, host-side veths,
the DNS server and the port proxy all live in ``nett-<hex>``; containers are ``nt-<hex>``
namespaces; every address is in 10.231.0.0/16 or 127.0.0.0/8 of the test namespace.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.network import nsutil
from orchestrator.network.driver import NetworkDriver
from orchestrator.paths import Paths

TEST_POOL = "10.231.0.0/16"

if os.geteuid() == 0:
    # ip netns makes /run/netns a shared mount on first use; do it before the session's leak
    # snapshot would see it appear as a leftover.
    nsutil.ensure_run_dir()


def sh(*cmd: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)


def nsexec(ns: str, *cmd: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *cmd, check=check, timeout=timeout)


@pytest.fixture
def host_ns() -> Iterator[str]:
    name = f"nett-{secrets.token_hex(4)}"
    sh("ip", "netns", "add", name)
    try:
        nsexec(name, "ip", "link", "set", "lo", "up")
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


@pytest.fixture
def driver(tmp_path: Path, host_ns: str) -> Iterator[NetworkDriver]:
    root = tmp_path / "root"
    root.mkdir()
    d = NetworkDriver(Paths(root), host_netns=host_ns, pool=TEST_POOL)
    try:
        yield d
    finally:
        projects = {r["project"] for r in d.conn.execute("SELECT project FROM net_networks")}
        projects |= {r["project"] for r in d.conn.execute("SELECT project FROM net_netns") if r["project"]}
        for p in projects:
            d.cleanup_stack(p)
        for r in d.conn.execute("SELECT name FROM net_netns").fetchall():
            nsutil.remove(r["name"])
        d.close()


def cid() -> str:
    return f"nt-{secrets.token_hex(5)}"
