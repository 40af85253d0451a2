"""Detecting v1 / hybrid / unified from mountinfo text (pure: no cgroup is touched)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cgroups import mode
from orchestrator.cgroups.mode import detect_mode, parse_mountinfo, scan_tree

ROOT = Path("/sys/fs/cgroup")

# This development host, verbatim: v1 controllers each on their own, plus cgroup2 at "unified".
HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
# A typical systemd v1 host: cpu and cpuacct co-mounted, no cgroup2.
V1_COMOUNTED = """\
25 18 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid shared:13 - cgroup cgroup rw,memory
"""
UNIFIED = "26 21 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"


def test_this_hosts_layout_is_hybrid_with_each_controller_found() -> None:
    found = parse_mountinfo(HYBRID, ROOT)
    assert found is not None and found.mode == "hybrid"
    assert found.unified == ROOT / "unified"
    assert found.v1 == {c: ROOT / c for c in ("cpu", "cpuacct", "cpuset", "memory", "freezer", "pids")}


def test_comounted_controllers_share_one_directory() -> None:
    found = parse_mountinfo(V1_COMOUNTED, ROOT)
    assert found is not None and found.mode == "v1" and found.unified is None
    assert found.v1["cpu"] == found.v1["cpuacct"] == ROOT / "cpu,cpuacct"


def test_cgroup2_at_the_root_is_unified() -> None:
    found = parse_mountinfo(UNIFIED, ROOT)
    assert found is not None and found.mode == "unified" and found.unified == ROOT and found.v1 == {}


def test_mounts_elsewhere_are_ignored() -> None:
    assert parse_mountinfo(HYBRID, Path("/elsewhere")) is None


def test_detect_mode_reads_the_given_mountinfo(tmp_path: Path) -> None:
    f = tmp_path / "mountinfo"
    f.write_text(UNIFIED)
    assert detect_mode(ROOT, mountinfo=f) == "unified"
    f.write_text(HYBRID)
    assert detect_mode(ROOT, mountinfo=f) == "hybrid"


def test_an_unmounted_v1_tree_is_judged_by_its_files(tmp_path: Path) -> None:
    for ctrl in ("memory", "pids"):
        (tmp_path / ctrl).mkdir()
        (tmp_path / ctrl / "cgroup.procs").write_text("")
    assert scan_tree(tmp_path).mode == "v1"
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified" / "cgroup.controllers").write_text("")
    found = scan_tree(tmp_path)
    assert found.mode == "hybrid" and set(found.v1) == {"memory", "pids"}


def test_the_hosts_layout_is_read_once_per_process_and_a_given_tree_every_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reads: list[Path] = []
    real = mode._read_layout

    def counting(fs_root: Path, mountinfo: Path, fs: object) -> mode.Layout:
        reads.append(fs_root)
        return real(fs_root, mountinfo, fs)  # type: ignore[arg-type]

    monkeypatch.setattr(mode, "_read_layout", counting)
    monkeypatch.setattr(mode, "_HOST_LAYOUT", [])
    first = mode.layout()
    assert mode.layout() is first
    assert reads == [mode.DEFAULT_ROOT]
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "cgroup.procs").write_text("")
    mode.layout(tmp_path, mountinfo=tmp_path / "none")
    mode.layout(tmp_path, mountinfo=tmp_path / "none")
    assert reads == [mode.DEFAULT_ROOT, tmp_path, tmp_path]
