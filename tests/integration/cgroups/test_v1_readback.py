"""Reading counters back from real v1 hierarchies, and live updates (``pystack runtime update``)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import Popen

import pytest

from orchestrator.cgroups import Cgroup, detect_mode

from .conftest import CG_ROOT, leftovers

pytestmark = [pytest.mark.root, pytest.mark.skipif(detect_mode() == "unified", reason="host has no cgroup v1")]

Spawn = Callable[..., Popen[str]]
MB = 1 << 20


def test_stats_read_cpu_memory_pids_and_io(cg: Cgroup, spawn: Spawn, tmp_path: Path) -> None:
    data = tmp_path / "data"
    dev = os.stat(tmp_path).st_dev
    # This kernel's v1 blkio counts bytes only for devices the group has a throttle rule on
    # (without one, io_service_bytes stays "Total 0"), so set a rule that never bites: 1 TiB/s.
    rule = [{"major": os.major(dev), "minor": os.minor(dev), "rate": 1 << 40}]
    cg.apply({"blockIO": {"throttleReadBpsDevice": rule, "throttleWriteBpsDevice": rule}})
    # O_DIRECT so the bytes go through the block layer now, charged to this cgroup, not to writeback.
    code = f"""
import mmap, os, sys, time
buf = mmap.mmap(-1, 4 << 20)
buf.write(b"y" * (4 << 20))
fd = os.open({str(data)!r}, os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o600)
os.write(fd, buf)
os.lseek(fd, 0, 0)
os.readv(fd, [buf])
os.close(fd)
blob = b"z" * (16 << 20)
t = time.process_time()
while time.process_time() - t < 0.05:
    pass
print("ready", flush=True)
time.sleep(30)
"""
    p = spawn(code)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    st = cg.stats()
    assert st.cpu_usage_ns >= 50_000_000
    assert st.memory_usage >= 16 * MB
    assert st.memory_peak is not None and st.memory_peak >= st.memory_usage
    assert st.memory_limit is None  # unlimited reads back as None, not 2^63
    assert st.pids_current == 1
    assert st.pids_limit is None
    assert st.io_write_bytes >= 4 * MB
    assert st.io_read_bytes >= 4 * MB
    assert st.oom_kills == 0


def test_live_update_grows_memory_and_swap_in_the_order_the_kernel_accepts(cg: Cgroup) -> None:
    mem = CG_ROOT / "memory" / cg.path
    cg.apply({"memory": {"limit": 32 * MB, "swap": 32 * MB}})
    # Growing: memsw must be raised before the limit or the kernel refuses (limit > memsw).
    cg.apply({"memory": {"limit": 128 * MB, "swap": 128 * MB}})
    assert int((mem / "memory.limit_in_bytes").read_text()) == 128 * MB
    assert int((mem / "memory.memsw.limit_in_bytes").read_text()) == 128 * MB
    cg.apply({"memory": {"limit": 16 * MB, "swap": 16 * MB, "reservation": 8 * MB, "swappiness": 10}})
    assert int((mem / "memory.limit_in_bytes").read_text()) == 16 * MB
    assert int((mem / "memory.memsw.limit_in_bytes").read_text()) == 16 * MB
    assert int((mem / "memory.soft_limit_in_bytes").read_text()) == 8 * MB
    assert int((mem / "memory.swappiness").read_text()) == 10


def test_cpu_cpuset_pids_and_blkio_throttles_land_in_their_files(cg: Cgroup, tmp_path: Path) -> None:
    dev = os.stat(tmp_path).st_dev
    major, minor = os.major(dev), os.minor(dev)
    cg.apply({
        "cpu": {"shares": 512, "quota": 25_000, "period": 50_000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 64},
        "blockIO": {
            "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 10 * MB}],
            "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 300}],
        },
    })

    def read(ctrl: str, name: str) -> str:
        return (CG_ROOT / ctrl / cg.path / name).read_text().strip()

    assert read("cpu", "cpu.shares") == "512"
    assert read("cpu", "cpu.cfs_quota_us") == "25000"
    assert read("cpu", "cpu.cfs_period_us") == "50000"
    assert read("cpuset", "cpuset.cpus") == "0"
    assert read("pids", "pids.max") == "64"
    assert read("blkio", "blkio.throttle.read_bps_device") == f"{major}:{minor} {10 * MB}"
    assert read("blkio", "blkio.throttle.write_iops_device") == f"{major}:{minor} 300"
    cg.apply({"cpu": {"quota": -1}, "pids": {"limit": -1}})  # lifting limits live
    assert read("cpu", "cpu.cfs_quota_us") == "-1"
    assert read("pids", "pids.max") == "max"


def test_new_cpuset_inherits_the_parents_sets_so_it_can_take_tasks(cg: Cgroup) -> None:
    d = CG_ROOT / "cpuset" / cg.path
    parent = CG_ROOT / "cpuset"
    assert (d / "cpuset.cpus").read_text().strip() == (parent / "cpuset.cpus").read_text().strip()
    assert (d / "cpuset.mems").read_text().strip() == (parent / "cpuset.mems").read_text().strip()
    p = Popen(["sleep", "30"], preexec_fn=lambda: cg.add_process(os.getpid()))
    try:
        assert cg.procs() == [p.pid]
    finally:
        cg.destroy()
        assert p.wait(timeout=10) == -signal.SIGKILL


def test_sigterm_to_a_paused_group_waits_for_resume(cg: Cgroup, spawn: Spawn) -> None:
    p = spawn("import time; print('up', flush=True); time.sleep(30)")
    assert p.stdout is not None and p.stdout.readline().strip() == "up"
    cg.freeze()
    cg.kill_all(signal.SIGTERM)
    time.sleep(0.2)
    assert cg.frozen() and p.poll() is None  # still paused: delivered on resume, as Docker does
    cg.thaw()
    assert p.wait(timeout=10) == -signal.SIGTERM


def test_remove_if_empty_keeps_a_busy_cgroup_and_removes_an_empty_one_everywhere(
        cg: Cgroup, cg_path: str, spawn: Spawn) -> None:
    name = cg_path.rsplit("/", 1)[1]
    p = spawn("import time; print('up', flush=True); time.sleep(30)")
    assert p.stdout is not None and p.stdout.readline().strip() == "up"
    assert cg.remove_if_empty() is False
    assert cg.exists() and cg.procs() == [p.pid] and p.poll() is None  # read and signalled nothing
    p.kill()
    assert p.wait(timeout=10) == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while not cg.remove_if_empty():  # the css goes a moment after the last task
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert leftovers(name) == [] and not cg.exists()
