"""Hybrid hosts: each limit goes to the hierarchy that has its controller.

The v1 side is a plain directory standing in for a v1 memory hierarchy (its interface files are
written by the test, as the kernel would on mkdir); the v2 side is the FAKE cgroup2 kernel of
fake_cgroup2.py whose root delegates hugetlb — this host's real cgroup2 mount delegates nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cgroups import CgroupError, HybridCgroup, V1Cgroup, V2Cgroup

from .fake_cgroup2 import FakeCgroup2

PATH = "pystack-cgtest/abcd1234"


@pytest.fixture
def hybrid(tmp_path: Path) -> HybridCgroup:
    v1_root = tmp_path / "memory"
    v1_root.mkdir()
    (v1_root / "cgroup.procs").write_text("")
    fake = FakeCgroup2(tmp_path / "unified", controllers=("hugetlb",))
    (fake.root / "cgroup.subtree_control").write_text("hugetlb")  # delegated by the host, not by us
    cg = HybridCgroup(V1Cgroup(PATH, {"memory": v1_root}), V2Cgroup(PATH, fake.root, fs=fake,
                                                                      enable_in_root=False))
    cg.create()
    for name in ("cgroup.procs", "memory.limit_in_bytes", "memory.oom_control"):
        (v1_root / PATH / name).write_text("")
    return cg


def test_memory_goes_to_v1_and_hugetlb_to_cgroup2(hybrid: HybridCgroup, tmp_path: Path) -> None:
    hybrid.apply({"memory": {"limit": 1 << 26}, "hugepageLimits": [{"pageSize": "2MB", "limit": 1 << 22}]})
    assert (tmp_path / "memory" / PATH / "memory.limit_in_bytes").read_text() == str(1 << 26)
    assert (tmp_path / "unified" / PATH / "hugetlb.2MB.max").read_text() == str(1 << 22)
    assert (tmp_path / "unified" / "cgroup.subtree_control").read_text() == "hugetlb"  # root untouched


def test_unified_keys_need_the_controller_in_the_cgroup2_tree(hybrid: HybridCgroup) -> None:
    hybrid.apply({"unified": {"hugetlb.1GB.max": "0"}})
    with pytest.raises(CgroupError, match="has no memory controller"):
        hybrid.apply({"unified": {"memory.high": "100"}})


def test_a_controller_neither_tree_has_is_a_clear_error(hybrid: HybridCgroup) -> None:
    with pytest.raises(CgroupError, match="no cgroup v1 pids controller"):
        hybrid.apply({"pids": {"limit": 10}})


def test_self_join_names_one_tasks_file_per_v1_hierarchy_and_the_cgroup2_directory(tmp_path: Path) -> None:
    shared = tmp_path / "cpu,cpuacct"  # co-mounted controllers: one hierarchy, one tasks file
    v1 = V1Cgroup(PATH, {"cpu": shared, "cpuacct": shared, "memory": tmp_path / "memory"})
    v2 = V2Cgroup(PATH, tmp_path / "unified", enable_in_root=False)
    assert v1.self_join().v2_dir is None
    assert sorted(v1.self_join().v1_tasks) == sorted([str(shared / PATH / "tasks"),
                                                      str(tmp_path / "memory" / PATH / "tasks")])
    assert v2.self_join().v2_dir == str(tmp_path / "unified" / PATH) and v2.self_join().v1_tasks == ()
    both = HybridCgroup(v1, v2).self_join()
    assert (both.v2_dir, both.v1_tasks) == (v2.self_join().v2_dir, v1.self_join().v1_tasks)
