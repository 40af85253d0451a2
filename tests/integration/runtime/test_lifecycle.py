"""create/start/state/kill/delete/wait on the real kernel, state documents against the OCI schema."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import RuntimeFailure
from orchestrator.runtime.engine import KILLING, PystackRuntime
from tests.integration.runtime.conftest import BundleFactory, run_logged
from tests.unit.runtime.ocischema import validate_config, validate_state

pytestmark = pytest.mark.root


def test_exit_codes_and_signals(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["true"])
    assert run_logged(rt, cid, bundle)[0] == 0
    cid, bundle = make_bundle(["sh", "-c", "exit 7"])
    assert run_logged(rt, cid, bundle)[0] == 7
    cid, bundle = make_bundle(["sleep", "30"])
    rt.create(cid, bundle)
    rt.start(cid)
    rt.kill(cid, 9)
    st = rt.wait(cid, 10)
    assert st is not None and st.code == 137 and st.signal == 9 and not st.oom_killed
    rt.delete(cid)


def test_states_follow_the_lifecycle_and_validate(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.05; done"],
                              annotations={"org.example": "x"})
    validate_config(json.loads((bundle / "config.json").read_text()))
    pid_file = bundle / "pid"
    rt.create(cid, bundle, pid_file=pid_file)
    created = rt.state(cid)
    assert created.status == "created" and created.pid == int(pid_file.read_text())
    assert created.annotations == {"org.example": "x"}
    validate_state(created.to_json())
    rt.start(cid)
    running = rt.state(cid)
    assert running.status == "running"
    validate_state(running.to_json())
    with pytest.raises(RuntimeFailure, match="not in the created state"):
        rt.start(cid)
    with pytest.raises(RuntimeFailure, match="running"):
        rt.delete(cid)
    assert rt.wait(cid, 0.05) is None
    rt.kill(cid, "TERM")
    st = rt.wait(cid, 10)
    assert st is not None and st.signal is None and st.code == 42
    stopped = rt.state(cid)
    assert stopped.status == "stopped" and stopped.pid is None
    validate_state(stopped.to_json())
    with pytest.raises(RuntimeFailure, match="not running"):
        rt.kill(cid, "KILL")
    rt.delete(cid)
    with pytest.raises(RuntimeFailure, match="does not exist"):
        rt.state(cid)
    assert [s.id for s in rt.list()] == []


def test_delete_of_created_container_kills_it(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["sleep", "30"])
    rt.create(cid, bundle)
    pid = rt.state(cid).pid
    assert pid is not None
    rt.delete(cid)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_create_errors_are_one_line(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["no-such-binary"])
    with pytest.raises(RuntimeFailure, match="no-such-binary: not found"):
        rt.create(cid, bundle)
    assert rt.list() == []
    cid, bundle = make_bundle(["true"], rlimits={"nofile": (10**7, 10**7)})
    with pytest.raises(RuntimeFailure, match=r"RLIMIT_NOFILE.*CAP_SYS_RESOURCE"):
        rt.create(cid, bundle)
    cid, bundle = make_bundle(["true"], cwd="/bin/sh/not-a-directory")  # a missing one is made, not this
    with pytest.raises(RuntimeFailure, match="cwd /bin/sh/not-a-directory: Not a directory"):
        rt.create(cid, bundle)
    with pytest.raises(RuntimeFailure, match="invalid container id"):
        rt.create("../escape", bundle)


def test_process_properties(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    script = ("id -u; id -g; id -G; pwd; echo $FOO; ulimit -n; umask; cat /proc/self/oom_score_adj; "
              "hostname; domainname 2>/dev/null || cat /proc/sys/kernel/domainname; "
              "cat /proc/sys/net/ipv4/ip_unprivileged_port_start")
    cid, bundle = make_bundle(
        ["sh", "-c", script], user="app", additional_gids=[65534], cwd="/tmp", env={"FOO": "bar"},
        rlimits={"nofile": (512, 1024)}, umask=0o027, oom_score_adj=500, hostname="h1", domainname="d1",
        sysctls={"net.ipv4.ip_unprivileged_port_start": "80"},
    )
    (bundle / "rootfs").chmod(0o755)  # images have a world-traversable root; pytest's tmp dirs do not
    code, out, err = run_logged(rt, cid, bundle)
    assert code == 0, err
    assert out.split("\n")[:11] == ["1000", "1000", "1000 65534", "/tmp", "bar", "512", "0027", "500", "h1", "d1",
                                    "80"]


def test_readonly_root_and_mounts(rt: PystackRuntime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    host = tmp_path / "data"
    host.mkdir()
    (host / "f").write_text("from host")
    mounts = [
        {"destination": "/data", "type": "bind", "source": str(host), "options": ["rbind", "ro"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700"]},
    ]
    script = ("cat /data/f; echo; (touch /x) 2>/dev/null && echo rootrw || echo rootro; "
              "(touch /data/y) 2>/dev/null && echo datarw || echo dataro; touch /scratch/z && echo scratchrw; "
              "stat -c %a /scratch; grep ' /scratch ' /proc/self/mountinfo | grep -o 'size=[0-9a-z]*'")
    cid, bundle = make_bundle(["sh", "-c", script], readonly_rootfs=True, mounts=mounts)
    code, out, err = run_logged(rt, cid, bundle)
    assert code == 0, err
    assert out.split() == ["from", "host", "rootro", "dataro", "scratchrw", "700", "size=1024k"]
    assert not (host / "y").exists()


def test_logs_are_docker_json_lines_with_partial_flush_and_rotation(
    rt: PystackRuntime, make_bundle: BundleFactory
) -> None:
    cid, bundle = make_bundle(["sh", "-c", "echo out; echo err >&2; printf partial; sleep 1; echo ' done'"])
    log = bundle / "log.json"
    rt.create(cid, bundle, log_path=log)
    rt.start(cid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "partial" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.05)
    assert rt.state(cid).status == "running", "the partial line was held until exit"
    rt.wait(cid, 10)
    rt.delete(cid)
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(r["stream"], r["log"]) for r in recs] == [
        ("stdout", "out\n"), ("stderr", "err\n"), ("stdout", "partial"), ("stdout", " done\n")] or \
        sorted((r["stream"], r["log"]) for r in recs) == sorted(
        [("stdout", "out\n"), ("stderr", "err\n"), ("stdout", "partial"), ("stdout", " done\n")])
    assert all(r["time"].endswith("Z") and len(r["time"]) == 30 for r in recs)

    cid, bundle = make_bundle(["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done"])
    log = bundle / "rot.json"
    rt.create(cid, bundle, log_path=log, log_max_size=4096, log_max_files=3)
    rt.start(cid)
    rt.wait(cid, 10)
    rt.delete(cid)
    files = [log, Path(f"{log}.1"), Path(f"{log}.2")]
    assert all(f.exists() and f.stat().st_size <= 4096 for f in files)
    assert not Path(f"{log}.3").exists()
    last = [json.loads(x)["log"] for x in log.read_text().splitlines()]
    assert last[-1] == "line-299\n"


def test_caller_killed_loses_nothing(rt: PystackRuntime, make_bundle: BundleFactory, pystack_root: Path) -> None:
    cid, bundle = make_bundle(["sh", "-c", "sleep 0.5; echo survived; exit 3"])
    log = bundle / "log.json"
    code = (
        "import sys, os, time\n"
        "from pathlib import Path\n"
        "from orchestrator.paths import Paths\n"
        "from orchestrator.runtime.engine import PystackRuntime\n"
        f"rt = PystackRuntime(Paths(Path({str(pystack_root)!r})))\n"
        f"rt.create({cid!r}, Path({str(bundle)!r}), log_path=Path({str(log)!r}))\n"
        f"rt.start({cid!r})\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    repo = Path(__file__).resolve().parents[3]
    caller = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=str(repo))
    try:
        assert caller.stdout is not None and caller.stdout.readline().strip() == b"started"
        os.kill(caller.pid, signal.SIGKILL)
        caller.wait()
        st = rt.wait(cid, 10)
        assert st is not None and st.code == 3
        assert [json.loads(x)["log"] for x in log.read_text().splitlines()] == ["survived\n"]
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
        rt.delete(cid, force=True)


def test_init_reaps_zombies_and_forwards_signals(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["sh", "-c", "sleep 0.1 & exec sleep 30"], init=True)
    rt.create(cid, bundle)
    rt.start(cid)
    try:
        time.sleep(0.5)
        pid = rt.state(cid).pid
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "docker-init"
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        states = [Path(f"/proc/{c}/stat").read_text().split()[2] for c in children]
        assert "Z" not in states
        rt.kill(cid, "TERM")
        st = rt.wait(cid, 10)
        assert st is not None and st.code == 143
    finally:
        rt.delete(cid, force=True)


def test_pause_resume_ps_stats_update(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["sleep", "30"])
    rt.create(cid, bundle)
    rt.start(cid)
    try:
        assert rt.ps(cid) == [rt.state(cid).pid]
        rt.pause(cid)
        assert rt.state(cid).status == "paused"
        rt.resume(cid)
        assert rt.state(cid).status == "running"
        rt.update(cid, {"pids": {"limit": 50}})
        stats = rt.stats(cid)
        assert stats["pids_current"] == 1 and stats["pids_limit"] == 50
    finally:
        rt.delete(cid, force=True)


def test_oom_kill_is_reported(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    limit = 16 << 20
    cid, bundle = make_bundle(["sh", "-c", "a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done"],
                              resources={"memory": {"limit": limit, "swap": limit}})
    rt.create(cid, bundle)
    rt.start(cid)
    st = rt.wait(cid, 20)
    rt.delete(cid, force=True)
    assert st is not None and st.code == 137 and st.oom_killed


def test_stop_escalates_to_sigkill(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["sh", "-c", "trap '' TERM; sleep 30 & wait"])  # ignores SIGTERM
    rt.create(cid, bundle)
    rt.start(cid)
    try:
        st = rt.stop(cid, "TERM", timeout=0.5)
        assert st is not None and st.code == 137 and st.signal == 9
        assert rt.stop(cid) == st  # already stopped: the same record
    finally:
        rt.delete(cid, force=True)


def test_terminal_through_console_socket(rt: PystackRuntime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    import socket

    cid, bundle = make_bundle(["sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo isatty; stty size; ls -l /dev/console"],
                              terminal=True)
    sock_path = tmp_path / "console.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.bind(str(sock_path))
        srv.listen(1)
        rt.create(cid, bundle, console_socket=sock_path)
        conn, _ = srv.accept()
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 64, 1)
    master = fds[0]
    try:
        rt.start(cid)
        st = rt.wait(cid, 10)
        assert st is not None and st.code == 0
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO once the slave side is gone
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        rt.delete(cid, force=True)
    text = out.decode().replace("\r", "")
    assert "isatty" in text and "/dev/console" in text


def test_a_kill_cut_short_inside_its_freeze_is_thawed_at_the_next_look(
    rt: PystackRuntime, make_bundle: BundleFactory
) -> None:
    """A ``down`` killed between kill_all's freeze and thaw must not leave a container that counts
    as running but never runs again: the killer's note names a dead process, so the next look thaws."""
    cid, bundle = make_bundle(["sleep", "30"])
    rt.create(cid, bundle)
    rt.start(cid)
    try:
        cdir = rt._dir(cid)
        cg = rt._cgroup(cdir.load())
        cg.freeze()  # as kill_all does, and then its caller dies
        gone = subprocess.Popen(["true"])
        gone.wait()
        (cdir.dir / KILLING).write_text(f"{gone.pid} 1\n")
        assert cg.frozen()
        assert rt.state(cid).status == "running"
        assert not cg.frozen()
        assert not (cdir.dir / KILLING).exists()
        rt.kill(cid, "SIGKILL")
        st = rt.wait(cid, 10)
        assert st is not None and st.code == 137
    finally:
        rt.delete(cid, force=True)


def test_delete_kills_what_outlived_pid_1_and_removes_the_cgroup(rt: PystackRuntime, make_bundle: BundleFactory,
                                                                  tmp_path: Path) -> None:
    from orchestrator.cgroups import open_cgroup

    def host_pids(cfg: dict[str, Any]) -> None:  # as `pid: host`: PID 1's exit does not take the rest with it
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]

    cid, bundle = make_bundle(["sh", "-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo $! > /left; exit 0"],
                              edit=host_pids)
    rt.create(cid, bundle)
    rt.start(cid)
    st = rt.wait(cid, 20)
    assert st is not None and st.code == 0
    left = int((bundle / "rootfs" / "left").read_text())
    cg = open_cgroup(f"pystack/{cid}")
    assert cg.procs() == [left]  # still running in the container's cgroup
    rt.delete(cid)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{left}").exists() and "Z" not in Path(f"/proc/{left}/stat").read_text().split()[2]:
        assert time.monotonic() < deadline, "the process left behind was not killed"
        time.sleep(0.02)
    assert not cg.exists()
