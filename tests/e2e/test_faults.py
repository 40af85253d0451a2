"""``kill -9`` of the CLI (and of the supervisor) at seeded random points of ``up`` and ``down``.

After each interruption the next ``up`` must converge (every service running) and ``down`` must
leave nothing: no container rows, no mounts under the root, no links or namespaces in the stand-in
host, no processes of the stack. Twenty seeded trials, so a failure can be replayed.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

STACK = """
name: e2efault
services:
  db:
    image: busybox:latest
    command: ["sleep", "1000"]
    volumes: [data:/data]
  api:
    image: busybox:latest
    command: ["sleep", "1000"]
    depends_on: [db]
    restart: always
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "80", "-h", "/"]
    ports: ["28190:80"]
    depends_on: [api]
volumes: {data: {}}
"""
TRIALS = 20


def _spawn(host: Host, *args: str) -> subprocess.Popen[bytes]:
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", *args]
    return subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _kill_supervisor(host: Host) -> None:
    pidfile = host.root / "run" / "stacks" / "e2efault" / "supervisor.pid"
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text()), signal.SIGKILL)


def _mounts_under(root: Path) -> list[str]:
    with open("/proc/self/mountinfo") as fh:
        return [line.split()[4] for line in fh if line.split()[4].startswith(str(root))]


def _container_cgroups() -> set[str]:
    """Every container cgroup on the host, in every hierarchy (``pystack/<id>`` directories)."""
    return {str(p) for p in Path("/sys/fs/cgroup").glob("*/pystack/*") if p.is_dir()}


def test_kill_9_at_random_points_then_converge_and_clean_down(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK))
    cgroups_before = _container_cgroups()
    rng = random.Random(20261202)
    for trial in range(TRIALS):
        verb = "up" if trial % 2 == 0 else "down"
        if verb == "down":
            host.pystack("-f", f, "up", "-d")
        proc = _spawn(host, "-f", f, *(["up", "-d"] if verb == "up" else ["down", "-t", "0"]))
        time.sleep(rng.uniform(0.05, 1.2))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if rng.random() < 0.5:
            _kill_supervisor(host)

        host.pystack("-f", f, "up", "-d")
        rows = json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)
        assert sorted(r["Service"] for r in rows) == ["api", "db", "web"], (trial, rows)
        assert all(r["State"] == "running" for r in rows), (trial, rows)
        assert host.http("http://127.0.0.1:28190/etc/hostname").strip()

    host.pystack("-f", f, "down", "-v", "-t", "0")
    assert json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout) == []
    assert _mounts_under(host.root) == []
    links = [x for x in host.sh("ip -o link show").stdout.splitlines() if ": lo:" not in x]
    assert links == []
    leftover = subprocess.run(["pgrep", "-f", f"--root {host.root}"], capture_output=True, text=True).stdout
    assert leftover.strip() == ""
    # a create killed before it recorded its state (even halfway through making the cgroup) included
    assert _container_cgroups() <= cgroups_before


def test_an_up_after_a_down_killed_past_its_links_recreates_every_container(host: Host) -> None:
    """What a ``down -t 0`` killed after its first steps leaves, made with down's own calls in its
    order: the supervisor shut down, every row marked removing, the stack's links deleted as one
    group, then one container stopped (the stop that precedes a removal). ``up`` recreates them
    all (new ids, the published port answers), where it used to start that stopped container
    again, and keep the others, without a network."""
    from orchestrator.network import names
    from orchestrator.paths import Paths
    from orchestrator.reconcile import engine, supervisor_client
    from orchestrator.reconcile.context import Context
    from orchestrator.state import containers as cstate

    f = str(host.write("compose.yaml", STACK))
    host.pystack("-f", f, "up", "-d")
    ctx = Context(Paths(host.root), host_netns=host.netns)
    try:
        supervisor_client.shutdown(ctx.paths, "e2efault")
        records = cstate.for_project(ctx.db(), "e2efault")
        before = {r.id for r in records}
        cstate.mark_removing(ctx.db(), sorted(before))
        ctx.network.delete_link_group(names.link_group(str(host.root), "e2efault"))
        web = [r for r in records if r.service == "web"]
        engine.stop_containers(ctx, [web], timeout=0, report=lambda _line: None)
    finally:
        ctx.close()

    host.pystack("-f", f, "up", "-d")
    rows = json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)
    assert sorted(r["Service"] for r in rows) == ["api", "db", "web"]
    assert all(r["State"] == "running" for r in rows), rows
    assert not {r["ID"] for r in rows} & before, "a container was kept or started again without its network"
    assert host.http("http://127.0.0.1:28190/etc/hostname").strip()
    host.pystack("-f", f, "down", "-v", "-t", "0")
    assert _mounts_under(host.root) == []
