"""The files a container's resolver reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import NetworkFailure
from orchestrator.network.hostfiles import write_hostname, write_hosts, write_resolv_conf


def test_resolv_conf(tmp_path: Path) -> None:
    p = tmp_path / "resolv.conf"
    write_resolv_conf(p, ["10.231.0.1"], ["corp.example"], ["ndots:1", "timeout:2"])
    assert p.read_text() == "nameserver 10.231.0.1\nsearch corp.example\noptions ndots:1 timeout:2\n"
    write_resolv_conf(p, ["10.231.0.1"])
    assert p.read_text() == "nameserver 10.231.0.1\n"


def test_hosts_with_extra_hosts_and_host_gateway(tmp_path: Path) -> None:
    p = tmp_path / "hosts"
    write_hosts(
        p,
        "web",
        "10.231.0.5",
        ["db:10.231.9.9", "host.docker.internal:host-gateway", "v6=::1"],
        gateway="10.231.0.1",
        aliases=["web.local"],
    )
    lines = p.read_text().splitlines()
    assert "127.0.0.1\tlocalhost" in lines
    assert "10.231.9.9\tdb" in lines
    assert "10.231.0.1\thost.docker.internal" in lines
    assert "::1\tv6" in lines
    assert lines[-1] == "10.231.0.5\tweb web.local"
    with pytest.raises(NetworkFailure):
        write_hosts(p, "web", None, ["nonsense"])
    with pytest.raises(NetworkFailure, match="host-gateway"):
        write_hosts(p, "web", None, ["h:host-gateway"])


def test_hostname(tmp_path: Path) -> None:
    write_hostname(tmp_path / "hostname", "web-1")
    assert (tmp_path / "hostname").read_text() == "web-1\n"
