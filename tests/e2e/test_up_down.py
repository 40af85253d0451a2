"""``up`` and ``down`` as a user runs them: order, health gates, idempotence, names, cleanup."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

STACK = """
name: e2ebasic
services:
  db:
    image: busybox:latest
    command: ["nc", "-ll", "-p", "5432", "-e", "/bin/cat"]
    volumes: [dbdata:/data]
    healthcheck:
      test: ["CMD-SHELL", "netstat -ltn | grep -q ':5432 '"]
      interval: 0.5s
      retries: 20
  api:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "8000", "-h", "/var/www"]
    depends_on:
      db: {condition: service_healthy}
    mem_limit: 64m
    cpus: 0.5
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "80", "-h", "/var/www"]
    ports: ["28080:80"]
    volumes: ["./www:/var/www:ro"]
    depends_on: [api]
volumes:
  dbdata: {}
"""


def test_up_wait_serves_then_down_removes_everything(host: Host) -> None:
    host.write("www/index.html", "hello e2e\n")
    f = host.write("compose.yaml", STACK)
    host.pystack("-f", str(f), "up", "-d", "--wait", "--wait-timeout", "60")
    ps = json_lines(host.pystack("-f", str(f), "ps", "--format", "json").stdout)
    assert sorted(r["Service"] for r in ps) == ["api", "db", "web"]
    assert all(r["State"] == "running" for r in ps)
    assert next(r for r in ps if r["Service"] == "db")["Health"] == "healthy"
    assert host.http("http://127.0.0.1:28080/") == "hello e2e\n"

    # the dependency gate: api started only after db was healthy
    ev = [json.loads(x) for x in host.pystack("-f", str(f), "events", "--json", "--since", "0", "--until", "0s")
          .stdout.splitlines()]
    starts = {e["service"]: e["time"] for e in ev if e["action"] == "start"}
    assert starts["db"] < starts["api"] < starts["web"]

    # nothing changed: an empty plan, and the containers are the same ones
    dry = host.pystack("-f", str(f), "up", "--dry-run").stdout
    assert "nothing to do" in dry
    same = host.pystack("-f", str(f), "up", "-d").stderr.splitlines()
    assert sorted(same) == [f"Container e2ebasic-{s}-1  Running" for s in ("api", "db", "web")]  # as Compose
    again = json_lines(host.pystack("-f", str(f), "ps", "--format", "json").stdout)
    assert sorted(r["ID"] for r in again) == sorted(r["ID"] for r in ps)

    # a detached up is read without click, and inspect is never imported on its way
    probe = ("import sys; from orchestrator.cli.up_argv import try_run; code = try_run(sys.argv[1:]); "
             "from orchestrator.startup import lazy_inspect; "
             "print(code, 'click' in sys.modules, lazy_inspect.is_deferred())")
    fast = subprocess.run(["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-c", probe,
                           "-f", str(f), "up", "-d"], cwd=host.workdir, env=host.env(), capture_output=True,
                          text=True, timeout=120)
    assert fast.stdout.split() == ["0", "False", "True"], fast.stderr
    assert sorted(fast.stderr.splitlines()) == sorted(same)

    host.pystack("-f", str(f), "down", "-v", "-t", "0")
    assert json_lines(host.pystack("-f", str(f), "ps", "-a", "--format", "json").stdout) == []
    links = host.sh("ip -o link show").stdout
    assert "veth" not in links and "ps-" not in links.replace("lo:", "")
    assert not (host.root / "volumes" / "e2ebasic_dbdata").exists()


def test_invalid_stack_creates_nothing(host: Host) -> None:
    f = host.write("compose.yaml", "services:\n  a:\n    image: busybox:latest\n    ports: ['80:abc']\n")
    res = host.pystack("-f", str(f), "up", "-d", check=False)
    assert res.returncode == 1
    assert "compose.yaml:4" in res.stderr and "ports" in res.stderr
    assert "Traceback" not in res.stderr
    assert json_lines(host.pystack("-p", "work", "ps", "-a", "--format", "json").stdout) == []


GROUPED = """
name: e2egroup
services:
  a:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"]
    scale: 3
  b:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"]
"""


def _group_links(host: Host, group: int) -> set[str]:
    out = host.sh("/usr/sbin/ip -o link show").stdout  # iproute2: busybox ip does not print groups
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines() if f" group {group} " in line}


def _state_rows(host: Host) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(host.root / "state.db")
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("containers", "net_endpoints", "net_netns", "net_networks", "images_holders")}
    finally:
        conn.close()


def test_down_takes_the_stack_s_links_as_one_group_and_leaves_a_stranger_s(host: Host) -> None:
    from orchestrator.network.names import link_group

    f = host.write("compose.yaml", GROUPED)
    group = link_group(str(host.root), "e2egroup")
    for stranger in (False, True):
        host.pystack("-f", str(f), "up", "-d")
        mine = _group_links(host, group)
        assert len(mine) == 5  # the bridge and four host-side veths
        if stranger:  # a link another tool put in the same group: down must not delete it
            made = host.sh(f"/usr/sbin/ip link add e2estranger type bridge && "
                           f"/usr/sbin/ip link set e2estranger group {group}")
            assert made.returncode == 0, made.stderr
        host.pystack("-f", str(f), "down")
        assert _group_links(host, group) == ({"e2estranger"} if stranger else set())
        assert not mine & set(host.sh("ip -o link show").stdout.split())
        assert _state_rows(host) == dict.fromkeys(
            ("containers", "net_endpoints", "net_netns", "net_networks", "images_holders"), 0)
        assert not list((host.root / "containers").glob("*"))
        events = [json.loads(x) for x in host.pystack("-p", "e2egroup", "events", "--json", "--since", "0", "--until",
                                                "0s").stdout.splitlines()]
        assert sum(e["action"] == "remove" for e in events) == 4 * (2 if stranger else 1)
    assert host.sh("/usr/sbin/ip link del e2estranger").returncode == 0
