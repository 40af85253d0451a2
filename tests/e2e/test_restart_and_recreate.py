"""Restart policies after ``kill -9`` of a container's process, and recreating only what changed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines


def _ps(host: Host, f: str) -> dict[str, dict[str, object]]:
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    return {str(r["Name"]): r for r in rows}


def _pid1(host: Host, cid: str) -> int:
    state = json.loads(host.pystack("runtime", "state", cid).stdout)
    return int(state["pid"])


def _wait(pred: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_restart_always_brings_a_killed_process_back(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: e2erestart
services:
  worker:
    image: busybox:latest
    command: ["sh", "-c", "echo started; exec sleep 1000"]
    restart: always
  flaky:
    image: busybox:latest
    command: ["sh", "-c", "echo try; exit 3"]
    restart: on-failure:2
"""))
    host.pystack("-f", f, "up", "-d")
    cid = str(_ps(host, f)["e2erestart-worker-1"]["ID"])
    first = _pid1(host, cid)
    os.kill(first, signal.SIGKILL)
    _wait(lambda: _ps(host, f)["e2erestart-worker-1"]["State"] == "running" and _pid1(host, cid) != first)
    # on-failure:2 gives up after two restarts: three runs in all, then it stays exited
    _wait(lambda: _ps(host, f)["e2erestart-flaky-1"]["State"] == "exited"
          and host.pystack("-f", f, "logs", "flaky").stdout.count("try") == 3, timeout=30)
    time.sleep(1.5)  # past the next back-off step: still given up
    assert host.pystack("-f", f, "logs", "flaky").stdout.count("try") == 3
    assert _ps(host, f)["e2erestart-flaky-1"]["ExitCode"] == 3
    # logs of the restarted worker keep both runs
    assert host.pystack("-f", f, "logs", "--no-log-prefix", "worker").stdout.count("started") == 2


def test_recreate_only_what_changed_and_scale(host: Host) -> None:
    text = """
name: e2erecreate
services:
  a:
    image: busybox:latest
    command: ["sleep", "1000"]
    environment: {DEBUG: "0"}
  b:
    image: busybox:latest
    command: ["sleep", "1000"]
"""
    f = str(host.write("compose.yaml", text))
    host.pystack("-f", f, "up", "-d")
    before = {n: r["ID"] for n, r in _ps(host, f).items()}
    host.write("compose.yaml", text.replace('DEBUG: "0"', 'DEBUG: "1"'))
    plan = host.pystack("-f", f, "up", "--dry-run").stdout
    assert "recreate e2erecreate-a-1: environment.DEBUG changed" in plan
    assert "e2erecreate-b-1" not in plan
    host.pystack("-f", f, "up", "-d")
    after = {n: r["ID"] for n, r in _ps(host, f).items()}
    assert after["e2erecreate-b-1"] == before["e2erecreate-b-1"]
    assert after["e2erecreate-a-1"] != before["e2erecreate-a-1"]

    host.pystack("-f", f, "up", "-d", "--scale", "b=3")
    assert sorted(n for n in _ps(host, f) if "-b-" in n) == [f"e2erecreate-b-{i}" for i in (1, 2, 3)]
    host.pystack("-f", f, "up", "-d", "--scale", "b=1")
    assert sorted(n for n in _ps(host, f) if "-b-" in n) == ["e2erecreate-b-1"]


def test_network_mode_service_follows_its_target(host: Host) -> None:
    text = """
name: e2enetmode
services:
  x:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "8000", "-h", "/srv"]
    volumes: ["./srv:/srv:ro"]
    restart: always
    environment: {V: "1"}
  side:
    image: busybox:latest
    command: ["sleep", "1000"]
    network_mode: "service:x"
"""
    host.write("srv/index.html", "shared\n")
    f = str(host.write("compose.yaml", text))
    host.pystack("-f", f, "up", "-d")

    def fetch() -> str:
        return host.pystack("-f", f, "exec", "-T", "side", "wget", "-q", "-O-", "http://127.0.0.1:8000/",
                            check=False).stdout

    _wait(lambda: fetch() == "shared\n")  # side shares x's localhost
    x_id = str(_ps(host, f)["e2enetmode-x-1"]["ID"])
    os.kill(_pid1(host, x_id), signal.SIGKILL)  # x restarts in place: side keeps the namespace
    _wait(lambda: _ps(host, f)["e2enetmode-x-1"]["State"] == "running" and fetch() == "shared\n")
    host.write("compose.yaml", text.replace('V: "1"', 'V: "2"'))
    plan = host.pystack("-f", f, "up", "--dry-run").stdout
    assert "recreate e2enetmode-x-1" in plan and "recreate e2enetmode-side-1: dependency x recreated" in plan
    host.pystack("-f", f, "up", "-d")
    _wait(lambda: fetch() == "shared\n")


def test_up_gives_the_restart_policy_back_after_a_stop_killed_midway(host: Host) -> None:
    """``stop`` killed in the grace period leaves the container running; ``up`` must own it again.

    The row said desired "stopped" (set before the signal), so without ``up`` taking it back the
    supervisor let the container die at its next crash.
    """
    f = str(host.write("compose.yaml", """
name: e2ecutstop
services:
  w:
    image: busybox:latest
    command: ["sleep", "1000"]
    restart: always
"""))
    host.pystack("-f", f, "up", "-d")
    cid = str(_ps(host, f)["e2ecutstop-w-1"]["ID"])
    first = _pid1(host, cid)  # PID 1 sleep ignores SIGTERM: the stop waits out its grace period
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator",
           "-f", f, "stop", "-t", "30"]
    stopper = subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    note = host.root / "containers" / cid / "stopping"
    _wait(lambda: note.exists())
    stopper.kill()
    stopper.wait()
    assert _ps(host, f)["e2ecutstop-w-1"]["State"] == "running"
    host.pystack("-f", f, "up", "-d")
    os.kill(first, signal.SIGKILL)
    _wait(lambda: _ps(host, f)["e2ecutstop-w-1"]["State"] == "running" and _pid1(host, cid) != first)


def test_a_restart_that_fails_half_way_is_tried_again_by_the_policy_and_by_start(host: Host) -> None:
    """A new run is created after the old one is deleted: when that create fails (here a bind source
    gone), the container must stay a stopped one, not a container the runtime has never heard of."""
    data = host.workdir / "data"
    data.mkdir()
    f = str(host.write("compose.yaml", """
name: nsfixhalfway
services:
  always:
    image: busybox:latest
    network_mode: none
    restart: always
    volumes: ["./data:/data"]
    command: ["sleep", "300"]
  once:
    image: busybox:latest
    network_mode: none
    volumes: ["./data:/data"]
    command: ["sleep", "300"]
"""))
    host.pystack("-f", f, "up", "-d")
    ids = {n: str(r["ID"]) for n, r in _ps(host, f).items()}
    first = _pid1(host, ids["nsfixhalfway-always-1"])
    data.rmdir()
    os.kill(first, signal.SIGKILL)
    log = host.root / "run" / "stacks" / "nsfixhalfway" / "supervisor.log"
    _wait(lambda: "nsfixhalfway-always-1: restart failed: mount /data (bind)" in log.read_text())
    host.pystack("-f", f, "stop", "-t", "0", "once")
    res = host.pystack("-f", f, "start", "once", check=False)
    assert res.returncode != 0 and "mount /data (bind)" in res.stderr and "Traceback" not in res.stderr
    data.mkdir()
    _wait(lambda: _ps(host, f)["nsfixhalfway-always-1"]["State"] == "running")
    assert _pid1(host, ids["nsfixhalfway-always-1"]) != first
    host.pystack("-f", f, "start", "once")
    assert _ps(host, f)["nsfixhalfway-once-1"]["State"] == "running"
    host.pystack("-f", f, "down", "-t", "0")


def test_a_deep_state_root_still_gets_its_supervisor(host: Host) -> None:
    """``<root>/run/stacks/<project>/supervisor.sock`` past the 107 bytes a unix socket address
    holds: the supervisor still listens (through its directory), so the restart policy applies."""
    import shutil

    from tests.e2e.conftest import _kill_leftovers

    deep = host.workdir / ("d" * 60) / ("e" * 60) / "root"
    shutil.copytree(host.root, deep, symlinks=True)
    f = str(host.write("deep.yaml", """
name: e2edeeproot
services:
  worker:
    image: busybox:latest
    command: ["sleep", "1000"]
    restart: always
    network_mode: none
"""))
    sock = deep / "run" / "stacks" / "e2edeeproot" / "supervisor.sock"
    assert len(str(sock)) > 107
    try:
        host.pystack("--root", str(deep), "-f", f, "up", "-d")
        _wait(sock.exists)
        rows = json_lines(host.pystack("--root", str(deep), "-f", f, "ps", "--format", "json").stdout)
        cid = str(rows[0]["ID"])
        state = json.loads(host.pystack("--root", str(deep), "runtime", "state", cid).stdout)
        first = int(state["pid"])
        os.kill(first, signal.SIGKILL)

        def back() -> bool:
            now = json.loads(host.pystack("--root", str(deep), "runtime", "state", cid).stdout)
            return now["status"] == "running" and int(now["pid"]) != first

        _wait(back)
    finally:
        host.pystack("--root", str(deep), "-f", f, "down", "-t", "0", check=False)
        _kill_leftovers(deep)


def test_restart_of_a_service_restarts_its_restart_true_dependents_unless_no_deps(host: Host) -> None:
    """Compose's ``depends_on: {db: {restart: true}}``: ``restart db`` restarts api too (after db),
    not web, whose dependency on api does not ask for it; ``--no-deps`` restarts db alone."""
    f = str(host.write("compose.yaml", """
name: e2erestartdeps
services:
  db:
    image: busybox:latest
    command: ["sleep", "1000"]
    network_mode: none
  api:
    image: busybox:latest
    command: ["sleep", "1000"]
    network_mode: none
    depends_on: {db: {condition: service_started, restart: true}}
  web:
    image: busybox:latest
    command: ["sleep", "1000"]
    network_mode: none
    depends_on: [api]
"""))
    host.pystack("-f", f, "up", "-d")
    ids = {name: str(row["ID"]) for name, row in _ps(host, f).items()}

    def pids() -> dict[str, int]:
        return {name.split("-")[1]: _pid1(host, cid) for name, cid in ids.items()}

    before = pids()
    out = host.pystack("-f", f, "restart", "-t", "0", "db").stderr
    after = pids()
    assert after["db"] != before["db"] and after["api"] != before["api"] and after["web"] == before["web"]
    assert out.index("e2erestartdeps-db-1  Restarted") < out.index("e2erestartdeps-api-1  Restarted")

    host.pystack("-f", f, "restart", "-t", "0", "--no-deps", "db")
    again = pids()
    assert again["db"] != after["db"] and again["api"] == after["api"] and again["web"] == after["web"]
    assert all(r["State"] == "running" for r in _ps(host, f).values())
    host.pystack("-f", f, "down", "-t", "0")
