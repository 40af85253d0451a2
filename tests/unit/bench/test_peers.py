"""A peer that is not installed is reported with the reason (and the rest are measured)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import peers


def test_a_missing_binary_is_reported_without_installing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_NO_INSTALL", "1")
    assert peers.ensure_installed("crun", "/nonexistent/crun-for-the-bench") == \
        "/nonexistent/crun-for-the-bench not found"
    assert peers.ensure_installed("sh", "sh") is None


def test_network_namespace_names_are_private_to_one_run() -> None:
    a = peers.ns_name("podman", Path("/tmp/psbench-abcd1234"))
    b = peers.ns_name("podman", Path("/tmp/psbench-wxyz9876"))
    assert a == "psbench-podman-abcd1234" and a != b
