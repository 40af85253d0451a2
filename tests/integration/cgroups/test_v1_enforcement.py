"""cgroup v1 enforcement on the real kernel: the limits bite, not just get written.

Each test runs plain host processes moved into a fresh ``pystack-cgtest/<uuid8>`` cgroup between
fork and exec (no container runtime involved), and the fixtures check that every directory is
gone afterwards in every hierarchy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import Popen

import pytest

from orchestrator.cgroups import Cgroup, detect_mode, open_cgroup
from orchestrator.runtime.spec import STANDARD_DEVICE_RULES

from .conftest import CG_ROOT, PARENT

pytestmark = [pytest.mark.root, pytest.mark.skipif(detect_mode() == "unified", reason="host has no cgroup v1")]

Spawn = Callable[..., Popen[str]]
MB = 1 << 20


def test_memory_limit_oom_kills_and_is_reported(cg: Cgroup, spawn: Spawn) -> None:
    cg.apply({"memory": {"limit": 48 * MB, "swap": 48 * MB}})
    assert cg.oom_kill_count() == 0
    # Touch every page: b"x" * n writes them all, so the charge is real, not lazily mapped zeros.
    p = spawn("import time; blob = b'x' * (256 << 20); time.sleep(30)")
    assert p.wait(timeout=30) == -signal.SIGKILL
    assert cg.oom_kill_count() >= 1
    stats = cg.stats()
    assert stats.oom_kills >= 1
    assert stats.memory_limit == 48 * MB
    assert stats.memory_peak is not None and 40 * MB <= stats.memory_peak <= 48 * MB


def test_pids_max_stops_a_fork_bomb_and_everything_is_cleaned_up(cg: Cgroup, spawn: Spawn) -> None:
    cg.apply({"pids": {"limit": 12}})
    bomb = """
import errno, json, os, sys, time
made = failed = 0
for _ in range(200):                       # bounded: 200 attempts at most
    try:
        pid = os.fork()
    except OSError as e:
        if e.errno != errno.EAGAIN:
            raise
        failed += 1
        continue
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    made += 1
print(json.dumps({"made": made, "eagain": failed}), flush=True)
time.sleep(60)
"""
    p = spawn(bomb)
    assert p.stdout is not None
    result = json.loads(p.stdout.readline())
    assert result["made"] == 11  # 12 tasks: the bomb itself and 11 children
    assert result["eagain"] == 200 - 11
    stats = cg.stats()
    assert stats.pids_limit == 12
    assert stats.pids_current == 12
    assert len(cg.procs()) == 12
    cg.destroy()
    assert p.wait(timeout=10) == -signal.SIGKILL
    assert not cg.exists()
    for r in (CG_ROOT / "pids", CG_ROOT / "freezer", CG_ROOT / "memory"):
        assert not (r / cg.path).exists()


def test_cpu_quota_half_holds_a_busy_loop_near_fifty_percent(cg: Cgroup, spawn: Spawn) -> None:
    # High shares so that neighbours on this shared 2-core host cannot starve us below the quota.
    cg.apply({"cpu": {"quota": 50_000, "period": 100_000, "shares": 262_144}})
    parent = CG_ROOT / "cpu" / PARENT / "cpu.shares"
    parent.write_text("262144")  # our own parent directory, never the root
    spawn("while True: pass")
    time.sleep(0.3)  # past interpreter start-up
    u0, t0 = cg.stats().cpu_usage_ns, time.monotonic_ns()
    time.sleep(1.5)
    u1, t1 = cg.stats().cpu_usage_ns, time.monotonic_ns()
    share = (u1 - u0) / (t1 - t0)
    assert 0.35 <= share <= 0.65, f"busy loop got {share:.0%} of a CPU under a 50% quota"


def test_pause_freezes_a_counter_and_resume_lets_it_go_on(cg: Cgroup, spawn: Spawn, tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    code = f"""
import os, time
fd = os.open({str(counter)!r}, os.O_WRONLY)
i = 0
while True:
    i += 1
    os.pwrite(fd, str(i).encode().ljust(12), 0)
    time.sleep(0.002)
"""
    spawn(code)

    def value() -> int:
        return int(counter.read_text().split()[0] or 0)

    deadline = time.monotonic() + 10
    while value() < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert value() >= 5
    cg.freeze()
    assert cg.frozen()
    paused = value()
    time.sleep(0.3)
    assert value() == paused
    cg.thaw()
    assert not cg.frozen()
    deadline = time.monotonic() + 10
    while value() <= paused + 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert value() > paused + 5


def test_destroy_kills_what_is_left_and_removes_every_directory(cg_path: str, tmp_path: Path) -> None:
    cg = open_cgroup(cg_path)
    cg.create()
    cg.create()  # idempotent
    procs = []
    try:
        for _ in range(3):
            procs.append(Popen(["sleep", "60"], preexec_fn=lambda: cg.add_process(os.getpid())))
        assert sorted(p.pid for p in procs) == cg.procs()
        cg.freeze()  # a frozen group must still be destroyable
        cg.destroy()
        assert [p.wait(timeout=10) for p in procs] == [-signal.SIGKILL] * 3
        assert not cg.exists()
        cg.destroy()  # idempotent
    finally:
        cg.destroy()  # thaws first: a killed but v1-frozen task would never be reaped
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)



_DENY_ALL = {"allow": False, "access": "rwm"}
_MKNOD = [{"allow": True, "type": t, "access": "m"} for t in ("c", "b")]
_GRANT = {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "r"}
_LATE_DENY = {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"}
_OPENS = """
import json, os
out = {}
for dev in ("null", "zero", "full", "random", "urandom"):
    for mode in (os.O_RDONLY, os.O_WRONLY):
        try:
            os.close(os.open("/dev/" + dev, mode))
            out[f"{dev}:{mode}"] = "ok"
        except OSError as exc:
            out[f"{dev}:{mode}"] = exc.strerror
print(json.dumps(out))
"""


def _opens(group: Cgroup) -> dict[str, str]:
    """What a process in ``group`` may open of the standard devices, read and write apart."""
    proc = subprocess.run([sys.executable, "-c", _OPENS], preexec_fn=lambda: group.add_process(os.getpid()),
                          capture_output=True, text=True, timeout=30, check=True)
    return dict(json.loads(proc.stdout))


@pytest.mark.parametrize("own", [
    [_DENY_ALL, *_MKNOD, *STANDARD_DEVICE_RULES, _GRANT],  # what pystack writes
    [_DENY_ALL, *STANDARD_DEVICE_RULES, _LATE_DENY],  # a foreign bundle taking a right back
    [{"allow": True, "access": "rwm"}, {"allow": False, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
     {"allow": True, "type": "c", "major": 1, "access": "rwm"}],  # v1 keys exceptions by exact numbers
], ids=["pystack", "late-deny", "wider-allow"])
def test_leaving_out_standard_rules_in_force_changes_nothing_the_kernel_enforces(
        cg_path: str, own: list[dict[str, object]]) -> None:
    """The runtime appends only the standard rules not in force; the v1 controller ends up with
    the devices.list, and lets open what, that appending all of them (as runc does) gives."""
    from orchestrator.runtime.devicerules import standard_rules_to_append

    ours, runc_like = open_cgroup(f"{cg_path}-ours"), open_cgroup(f"{cg_path}-runc")
    try:
        ours.create()
        runc_like.create()
        ours.apply({"devices": [*own, *standard_rules_to_append(own)]})
        runc_like.apply({"devices": [*own, *(dict(r) for r in STANDARD_DEVICE_RULES)]})
        lists = [sorted((CG_ROOT / "devices" / g / "devices.list").read_text().splitlines())
                 for g in (f"{cg_path}-ours", f"{cg_path}-runc")]
        assert lists[0] == lists[1]
        assert _opens(ours) == _opens(runc_like)
    finally:
        ours.destroy()
        runc_like.destroy()
