"""Conversions between OCI values and cgroup file values, and the v1 write plan (pure)."""

from __future__ import annotations

import pytest

from orchestrator.cgroups import cpu_weight_from_shares, io_weight_from_blkio_weight, quota_for_cpus
from orchestrator.cgroups.convert import (
    cpu_max,
    parse_blkio_service_bytes,
    parse_io_stat,
    parse_limit,
    shares_from_cpu_weight,
    v2_swap_max,
)
from orchestrator.cgroups.plan_v1 import plan_v1
from orchestrator.errors import CgroupError

MB = 1 << 20


@pytest.mark.parametrize(("shares", "weight"), [(0, 0), (2, 1), (1024, 39), (512, 20), (262_144, 10_000)])
def test_cpu_weight_from_shares_matches_runc(shares: int, weight: int) -> None:
    assert cpu_weight_from_shares(shares) == weight


def test_shares_round_trip_within_one_step() -> None:
    for shares in (2, 100, 1024, 4096, 262_144):
        assert abs(shares_from_cpu_weight(cpu_weight_from_shares(shares)) - shares) <= 27  # one weight step


@pytest.mark.parametrize(("blkio", "io"), [(0, 0), (10, 1), (500, 4950), (1000, 10_000)])
def test_io_weight_from_blkio_weight(blkio: int, io: int) -> None:
    assert io_weight_from_blkio_weight(blkio) == io


def test_cpu_max_and_quota_for_cpus() -> None:
    assert cpu_max(50_000, 100_000) == "50000 100000"
    assert cpu_max(-1, 100_000) == "max 100000"
    assert cpu_max(50_000, None) == "50000"
    assert cpu_max(None, None) is None
    assert quota_for_cpus(0.5) == 50_000
    assert quota_for_cpus(1.5, 200_000) == 300_000
    with pytest.raises(CgroupError):
        quota_for_cpus(0)


def test_v2_swap_excludes_memory() -> None:
    assert v2_swap_max(100, 300) == "200"
    assert v2_swap_max(100, 100) == "0"
    assert v2_swap_max(100, -1) == "max"
    assert v2_swap_max(100, None) is None


def test_limits_and_counters_parse() -> None:
    assert parse_limit("max\n") is None
    assert parse_limit("9223372036854771712\n") is None  # v1's "unlimited"
    assert parse_limit("67108864\n") == 64 * MB
    assert parse_io_stat("8:0 rbytes=5 wbytes=7 rios=1\n8:16 rbytes=1 wbytes=1\n") == (6, 8)
    text = "254:0 Read 4096\n254:0 Write 8192\n254:0 Sync 0\n254:0 Total 12288\nTotal 12288\n"
    assert parse_blkio_service_bytes(text) == (4096, 8192)


def test_plan_v1_maps_each_resource_to_its_file() -> None:
    writes = plan_v1({
        "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 3,
                                                         "access": "rwm"}],
        "memory": {"limit": 64 * MB, "swap": 128 * MB, "reservation": 32 * MB, "swappiness": 0,
                   "disableOOMKiller": True},
        "cpu": {"shares": 512, "quota": 50_000, "period": 100_000, "cpus": "0", "mems": "0"},
        "pids": {"limit": -1},
        "blockIO": {"weight": 300, "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 1024}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 2 * MB}],
    })
    flat = [(w.controller, w.choices[0][0], w.choices[0][1]) for w in writes]
    assert flat == [
        ("devices", "devices.deny", "a"),
        ("devices", "devices.allow", "c 1:3 rwm"),
        ("memory", "memory.limit_in_bytes", str(64 * MB)),
        ("memory", "memory.memsw.limit_in_bytes", str(128 * MB)),  # v1 memsw includes memory
        ("memory", "memory.soft_limit_in_bytes", str(32 * MB)),
        ("memory", "memory.swappiness", "0"),
        ("memory", "memory.oom_control", "1"),
        ("cpu", "cpu.shares", "512"),
        ("cpu", "cpu.cfs_period_us", "100000"),
        ("cpu", "cpu.cfs_quota_us", "50000"),
        ("cpuset", "cpuset.cpus", "0"),
        ("cpuset", "cpuset.mems", "0"),
        ("pids", "pids.max", "max"),
        ("blkio", "blkio.weight", "300"),
        ("blkio", "blkio.throttle.write_bps_device", "8:0 1024"),
        ("hugetlb", "hugetlb.2MB.limit_in_bytes", str(2 * MB)),
    ]
    assert writes[-3].choices[1] == ("blkio.bfq.weight", "300") and writes[-3].optional


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"memory": {"swappiness": 101}}, "above the maximum 100"),
        ({"memory": {"limit": 64 * MB, "swap": MB}}, "below the memory limit"),
        ({"cpu": {"period": 10}}, "below the minimum 1000"),
        ({"cpu": {"cpus": 3}}, "expected a list"),
        ({"devices": [{"type": "x"}]}, "not a, b or c"),
        ({"memory": []}, "expected an object"),
        ({"blockIO": {"weight": True}}, "expected an integer"),
    ],
)
def test_plan_v1_rejects_bad_input_with_one_line(resources: dict[str, object], message: str) -> None:
    with pytest.raises(CgroupError, match=message):
        plan_v1(resources)
