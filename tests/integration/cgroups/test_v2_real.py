"""The cgroup v2 driver against this host's real cgroup2 mount, /sys/fs/cgroup/unified.

That hierarchy delegates no controllers here (its root offers only hugetlb and enables none in
cgroup.subtree_control, which we must not write), so these tests cover what every cgroup2 cgroup
has: creation, cgroup.procs, the v2 freezer (cgroup.freeze/cgroup.events), cgroup.kill, cpu.stat,
removal, and a clear refusal of limits whose controller is missing. Limits themselves are tested
against the fake tree in tests/unit/cgroups.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE, Popen

import pytest

from orchestrator.cgroups import CgroupError, V2Cgroup, open_cgroup
from orchestrator.cgroups.mode import layout

from .conftest import PARENT, prune_parent

UNIFIED = layout().unified
pytestmark = [pytest.mark.root, pytest.mark.skipif(UNIFIED is None, reason="no cgroup2 mount on this host")]


@pytest.fixture
def v2() -> Iterator[V2Cgroup]:
    assert UNIFIED is not None
    name = uuid.uuid4().hex[:8]
    cg = V2Cgroup(f"{PARENT}/{name}", UNIFIED, enable_in_root=False)
    cg.create()
    try:
        yield cg
    finally:
        cg.destroy()
        prune_parent()
        assert not (UNIFIED / PARENT / name).exists()


def _counter(v2: V2Cgroup, path: Path) -> Popen[str]:
    path.write_text("0")
    code = f"""
import os, time
fd = os.open({str(path)!r}, os.O_WRONLY)
i = 0
while True:
    i += 1
    os.pwrite(fd, str(i).encode().ljust(12), 0)
    time.sleep(0.002)
"""
    return Popen(["python3", "-c", code], preexec_fn=lambda: v2.add_process(os.getpid()), stdout=PIPE, text=True)


def _value(path: Path) -> int:
    return int(path.read_text().split()[0] or 0)


def _wait_past(path: Path, n: int) -> None:
    deadline = time.monotonic() + 10
    while _value(path) <= n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _value(path) > n


def test_real_v2_freezer_pauses_and_resumes_a_counter(v2: V2Cgroup, tmp_path: Path) -> None:
    assert v2.can_freeze()
    counter = tmp_path / "counter"
    p = _counter(v2, counter)
    try:
        assert v2.procs() == [p.pid]
        _wait_past(counter, 5)
        v2.freeze()
        assert v2.frozen()
        assert "frozen 1" in (v2.dir / "cgroup.events").read_text()
        paused = _value(counter)
        time.sleep(0.3)
        assert _value(counter) == paused
        v2.thaw()
        assert not v2.frozen()
        _wait_past(counter, paused + 5)
    finally:
        v2.destroy()
        p.wait(timeout=10)
        assert p.stdout is not None
        p.stdout.close()
    assert p.returncode == -signal.SIGKILL


def test_real_cgroup_kill_empties_even_a_frozen_group(v2: V2Cgroup) -> None:
    if not v2.can_kill():
        pytest.skip("kernel older than 5.14: no cgroup.kill")
    procs = [Popen(["sleep", "30"], preexec_fn=lambda: v2.add_process(os.getpid())) for _ in range(3)]
    try:
        v2.freeze()
        v2.kill_all()
        assert [p.wait(timeout=10) for p in procs] == [-signal.SIGKILL] * 3
        assert v2.procs() == []
        assert "populated 0" in (v2.dir / "cgroup.events").read_text()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)


def test_real_v2_reads_cpu_usage_without_a_cpu_controller(v2: V2Cgroup) -> None:
    code = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.1: pass"
    p = Popen(["python3", "-c", code], preexec_fn=lambda: v2.add_process(os.getpid()))
    assert p.wait(timeout=20) == 0
    st = v2.stats()
    assert st.cpu_usage_ns >= 100_000_000
    assert st.memory_limit is None and st.pids_limit is None


def test_real_v2_refuses_limits_it_has_no_controller_for(v2: V2Cgroup) -> None:
    assert v2.controllers() == set()
    with pytest.raises(CgroupError, match="'memory' is not available"):
        v2.apply({"memory": {"limit": 1 << 26}})
    with pytest.raises(CgroupError, match="'hugetlb' is not available"):
        v2.apply({"hugepageLimits": [{"pageSize": "2MB", "limit": 1 << 21}]})


def test_hybrid_group_puts_the_process_in_both_trees(tmp_path: Path) -> None:
    name = uuid.uuid4().hex[:8]
    cg = open_cgroup(f"{PARENT}/{name}")
    cg.create()
    p = Popen(["sleep", "30"], preexec_fn=lambda: cg.add_process(os.getpid()))
    try:
        lines = Path(f"/proc/{p.pid}/cgroup").read_text().splitlines()
        assert f"0::/{PARENT}/{name}" in lines
        assert any(line.endswith(f":freezer:/{PARENT}/{name}") for line in lines)
        assert any(line.endswith(f":memory:/{PARENT}/{name}") for line in lines)
    finally:
        cg.destroy()
        prune_parent()
        p.wait(timeout=10)
    assert p.returncode == -signal.SIGKILL
    assert UNIFIED is not None and not (UNIFIED / PARENT / name).exists()


def _try_devices(v2: V2Cgroup, tmp_path: Path) -> dict[str, str]:
    """What a process in the cgroup may do with a few device nodes: ok or the error's name."""
    code = f"""
import errno, os, json
out = {{}}
def attempt(key, fn):
    try:
        fn()
        out[key] = "ok"
    except OSError as e:
        out[key] = errno.errorcode[e.errno]
attempt("read null", lambda: os.close(os.open("/dev/null", os.O_RDONLY)))
attempt("write null", lambda: os.close(os.open("/dev/null", os.O_WRONLY)))
attempt("read zero", lambda: os.close(os.open("/dev/zero", os.O_RDONLY)))
attempt("write full", lambda: os.close(os.open("/dev/full", os.O_WRONLY)))
attempt("read full", lambda: os.close(os.open("/dev/full", os.O_RDONLY)))
attempt("mknod char", lambda: os.mknod({str(tmp_path / "n1")!r}, 0o600 | 0o020000, os.makedev(1, 3)))
attempt("mknod block", lambda: os.mknod({str(tmp_path / "n2")!r}, 0o600 | 0o060000, os.makedev(7, 0)))
print(json.dumps(out))
"""
    p = Popen(["python3", "-c", code], preexec_fn=lambda: v2.add_process(os.getpid()), stdout=PIPE, text=True)
    out, _ = p.communicate(timeout=30)
    import json

    result: dict[str, str] = json.loads(out)
    return result


def test_device_rules_are_an_ebpf_filter_on_the_real_cgroup2(v2: V2Cgroup, tmp_path: Path) -> None:
    """The kernel itself enforces the rules: deny all, mknod of char nodes, null in full, full read-only."""
    (tmp_path / "before").mkdir()
    assert _try_devices(v2, tmp_path / "before") == {
        "read null": "ok", "write null": "ok", "read zero": "ok", "write full": "ok", "read full": "ok",
        "mknod char": "ok", "mknod block": "ok"}
    v2.apply({"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "access": "m"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "r"},
    ]})
    (tmp_path / "after").mkdir()
    assert _try_devices(v2, tmp_path / "after") == {
        "read null": "ok", "write null": "ok", "read zero": "EPERM", "write full": "EPERM", "read full": "ok",
        "mknod char": "ok", "mknod block": "EPERM"}


def test_a_rule_for_every_device_allows_everything_after_a_deny(v2: V2Cgroup, tmp_path: Path) -> None:
    v2.apply({"devices": [{"allow": False, "access": "rwm"}, {"allow": True, "access": "rwm"}]})
    assert set(_try_devices(v2, tmp_path).values()) == {"ok"}
