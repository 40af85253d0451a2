"""The cgroup v2 driver against a FAKE cgroup2 tree (see fake_cgroup2.py for what it emulates).

A fake, because this host has no cgroup2 controllers to write limits to: its real cgroup2 mount
delegates none (what that mount does allow — cgroup.procs, cgroup.freeze, cgroup.kill — is tested
for real in tests/integration/cgroups/test_v2_real.py). Member processes here are real ``sleep``
processes, so signals and cgroup.kill act on something real.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.cgroups import Cgroup, CgroupError, V2Cgroup, detect_mode, open_cgroup

from .fake_cgroup2 import FakeCgroup2

MB = 1 << 20


@pytest.fixture
def fake(tmp_path: Path) -> FakeCgroup2:
    return FakeCgroup2(tmp_path / "cgroup")


@pytest.fixture
def no_mounts(tmp_path: Path) -> Path:
    """A mountinfo with no cgroup mounts, so the tree's files alone decide the mode."""
    f = tmp_path / "mountinfo"
    f.write_text("22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n")
    return f


@pytest.fixture
def cg(fake: FakeCgroup2, no_mounts: Path) -> V2Cgroup:
    group = open_cgroup("/pystack-cgtest/abcd1234", fs_root=fake.root, fs=fake, mountinfo=no_mounts)
    assert isinstance(group, V2Cgroup)
    group.create()
    return group


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    p = subprocess.Popen(["sleep", "30"])
    try:
        yield p
    finally:
        p.kill()
        p.wait()


def text(fake: FakeCgroup2, name: str, rel: str = "pystack-cgtest/abcd1234") -> str:
    return (fake.root / rel / name).read_text().strip()


def test_a_tree_with_cgroup_controllers_at_the_top_is_unified(fake: FakeCgroup2, no_mounts: Path) -> None:
    assert detect_mode(fake.root, mountinfo=no_mounts) == "unified"


def test_create_enables_controllers_from_the_top_down(fake: FakeCgroup2, cg: V2Cgroup) -> None:
    assert text(fake, "cgroup.subtree_control", "") == "cpuset cpu io memory hugetlb pids"
    assert text(fake, "cgroup.subtree_control", "pystack-cgtest") == "cpuset cpu io memory hugetlb pids"
    assert cg.controllers() == {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"}
    assert text(fake, "memory.max") == "max"
    cg.create()  # idempotent
    assert cg.exists()


def test_apply_writes_every_oci_resource_in_v2_units(fake: FakeCgroup2, cg: V2Cgroup) -> None:
    cg.apply({
        "memory": {"limit": 256 * MB, "swap": 384 * MB, "reservation": 128 * MB},
        "cpu": {"shares": 1024, "quota": 50_000, "period": 100_000, "cpus": "0-1", "mems": "0"},
        "pids": {"limit": 100},
        "blockIO": {
            "weight": 500,
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
            "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
            "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}],
        },
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MB}],
        "unified": {"memory.high": "200000000"},
    })
    assert text(fake, "memory.max") == str(256 * MB)
    assert text(fake, "memory.swap.max") == str(128 * MB)  # v2 swap excludes memory
    assert text(fake, "memory.low") == str(128 * MB)
    assert text(fake, "memory.high") == "200000000"
    assert text(fake, "cpu.weight") == "39"  # 1024 shares, runc/crun formula
    assert text(fake, "cpu.max") == "50000 100000"
    assert text(fake, "cpuset.cpus") == "0-1"
    assert text(fake, "pids.max") == "100"
    assert text(fake, "io.weight") == "default 4950"  # no io.bfq.weight here: io.weight, converted
    assert text(fake, "io.max").splitlines() == [
        "8:0 rbps=1048576 wbps=2097152 riops=max wiops=max",
        "8:16 rbps=max wbps=max riops=100 wiops=max",
    ]
    assert text(fake, "hugetlb.2MB.max") == str(4 * MB)


def test_live_update_lifts_and_changes_limits(fake: FakeCgroup2, cg: V2Cgroup) -> None:
    cg.apply({"memory": {"limit": 64 * MB}, "pids": {"limit": 10}, "cpu": {"quota": 20_000, "period": 50_000}})
    cg.apply({"memory": {"limit": -1}, "pids": {"limit": -1}, "cpu": {"quota": -1}})
    assert text(fake, "memory.max") == "max"
    assert text(fake, "pids.max") == "max"
    assert text(fake, "cpu.max") == "max 50000"  # period kept, as the kernel does


def test_v2_swappiness_and_oom_killer_switch_are_reported_not_applied(fake: FakeCgroup2, cg: V2Cgroup) -> None:
    cg.apply({"memory": {"limit": 64 * MB, "swappiness": 10, "disableOOMKiller": True}})
    assert cg.skipped == ["memory.swappiness", "memory.disableOOMKiller"]
    assert text(fake, "memory.max") == str(64 * MB)


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"memory": {"limit": 64 * MB, "swap": 32 * MB}}, "below the memory limit"),
        ({"memory": {"swap": 32 * MB}}, "memory limit must be set"),
        ({"memory": {"limit": "64m"}}, "expected an integer"),
        ({"cpu": {"shares": 1}}, "below the minimum 2"),
        ({"unified": {"cgroup.procs": "1"}}, "managed by the runtime"),
        ({"unified": {"../../etc/passwd": "x"}}, "not a cgroup file name"),
        ({"unified": {"memory.max": "lots"}}, "Invalid argument"),
        ({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]}, "bad page size"),
        ({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "rate": 1}]}}, "minor: expected an integer"),
        ({"devices": [{"allow": True, "type": "x"}]}, "not a, b or c"),
        ({"devices": [{"allow": True, "type": "c", "major": "1"}]}, "major: expected a number"),
        ({"devices": [{"allow": True, "access": "rwx"}]}, "not made of r, w, m"),
        ({"devices": {"allow": True}}, "expected a list"),
    ],
)
def test_bad_resources_are_one_clear_error(cg: V2Cgroup, resources: dict[str, object], message: str) -> None:
    with pytest.raises(CgroupError, match=message):
        cg.apply(resources)


def test_a_controller_the_parent_does_not_delegate_is_a_clear_error(tmp_path: Path, no_mounts: Path) -> None:
    fake = FakeCgroup2(tmp_path / "cg", controllers=("cpu", "pids"))
    cg = open_cgroup("pystack-cgtest/abcd1234", fs_root=fake.root, fs=fake, mountinfo=no_mounts)
    cg.create()
    with pytest.raises(CgroupError, match="'memory' is not available"):
        cg.apply({"memory": {"limit": 64 * MB}})


def test_procs_freeze_thaw_and_cgroup_kill(fake: FakeCgroup2, cg: V2Cgroup,
                                           sleeper: subprocess.Popen[bytes]) -> None:
    cg.add_process(sleeper.pid)
    assert cg.procs() == [sleeper.pid]
    assert text(fake, "cgroup.procs", "") == ""  # moved out of the root
    cg.freeze()
    assert cg.frozen() and text(fake, "cgroup.freeze") == "1"
    cg.thaw()
    assert not cg.frozen()
    cg.kill_all()
    assert sleeper.wait(timeout=5) == -signal.SIGKILL
    assert cg.procs() == []


def test_kill_without_cgroup_kill_freezes_signals_and_thaws(tmp_path: Path, no_mounts: Path,
                                                            sleeper: subprocess.Popen[bytes]) -> None:
    fake = FakeCgroup2(tmp_path / "cg", has_kill=False)  # a kernel older than 5.14
    cg = open_cgroup("pystack-cgtest/abcd1234", fs_root=fake.root, fs=fake, mountinfo=no_mounts)
    cg.create()
    cg.add_process(sleeper.pid)
    cg.kill_all(signal.SIGTERM)
    assert sleeper.wait(timeout=5) == -signal.SIGTERM
    assert not cg.frozen()


def test_stats_and_oom_kills_read_back(fake: FakeCgroup2, cg: V2Cgroup) -> None:
    rel = "pystack-cgtest/abcd1234"
    fake.set(rel, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n")
    fake.set(rel, "memory.current", "4096000")
    fake.set(rel, "memory.peak", "8192000")
    fake.set(rel, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n")
    fake.set(rel, "pids.current", "3")
    fake.set(rel, "io.stat", "8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n"
                             "8:16 rbytes=10 wbytes=20 rios=1 wios=1 dbytes=0 dios=0\n")
    cg.apply({"memory": {"limit": 64 * MB}, "pids": {"limit": 50}})
    st = cg.stats()
    assert (st.cpu_usage_ns, st.memory_usage, st.memory_peak, st.memory_limit) == (1_500_000, 4096000, 8192000,
                                                                                   64 * MB)
    assert (st.pids_current, st.pids_limit, st.io_read_bytes, st.io_write_bytes) == (3, 50, 1010, 2020)
    assert st.oom_kills == cg.oom_kill_count() == 1


@pytest.fixture
def other(fake: FakeCgroup2, no_mounts: Path) -> Cgroup:
    """A second container's cgroup beside ``cg``, so that their shared parent is not empty."""
    group = open_cgroup("pystack-cgtest/other000", fs_root=fake.root, fs=fake, mountinfo=no_mounts)
    group.create()
    return group


def test_destroy_kills_removes_and_prunes_only_empty_parents(fake: FakeCgroup2, cg: V2Cgroup, other: Cgroup,
                                                             sleeper: subprocess.Popen[bytes]) -> None:
    cg.add_process(sleeper.pid)
    cg.destroy()
    assert sleeper.wait(timeout=5) == -signal.SIGKILL
    assert not cg.exists()
    assert (fake.root / "pystack-cgtest").is_dir()  # the other container still lives there
    other.destroy()
    assert not (fake.root / "pystack-cgtest").exists()
    other.destroy()  # idempotent
    assert sorted(p.name for p in fake.root.iterdir() if p.is_dir()) == []


def test_remove_if_empty_reads_and_kills_nothing_and_keeps_a_busy_cgroup(fake: FakeCgroup2, cg: V2Cgroup,
                                                                        other: Cgroup,
                                                                        sleeper: subprocess.Popen[bytes]) -> None:
    cg.add_process(sleeper.pid)
    assert cg.remove_if_empty() is False
    assert cg.exists() and cg.procs() == [sleeper.pid] and sleeper.poll() is None  # nothing signalled
    cg.kill_all()
    assert sleeper.wait(timeout=5) == -signal.SIGKILL
    assert cg.remove_if_empty() is True and not cg.exists()
    assert (fake.root / "pystack-cgtest").is_dir()  # the other container still lives there
    assert other.remove_if_empty() is True and not (fake.root / "pystack-cgtest").exists()
    assert other.remove_if_empty() is True  # gone already


def test_device_rules_become_one_filter_program_on_the_cgroup(fake: FakeCgroup2, cg: V2Cgroup) -> None:
    """What the program does is tested against the real cgroup2 mount (tests/integration/cgroups)."""
    from orchestrator.cgroups.device_filter import program

    rules = [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}]
    cg.apply({"devices": rules})
    assert fake.device_filters == {cg.dir: [program(rules)]}
    assert cg.skipped == []


def test_a_rule_matching_everything_ends_the_program() -> None:
    """The verifier refuses instructions that can never run: nothing may follow a rule without tests."""
    from orchestrator.cgroups.device_filter import program

    prologue = 6
    assert len(program([{"allow": True, "access": "rwm"}])) == (prologue + 2) * 8
    assert program([{"allow": True, "type": "c", "major": 1, "minor": 3}, {"allow": True, "access": "rwm"}]) == \
        program([{"allow": True, "access": "rwm"}])  # the last rule wins, so it is emitted first
    assert len(program([])) == (prologue + 2) * 8  # nothing matches: deny
