"""``up`` and ``down`` as a user runs them: order, health gates, idempotence, names, cleanup."""

from __future__ import annotations

import json

from tests.e2e.conftest import Host

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
    ps = json.loads(host.pystack("-f", str(f), "ps", "--format", "json").stdout)
    assert sorted(r["Service"] for r in ps) == ["api", "db", "web"]
    assert all(r["State"] == "running" for r in ps)
    assert next(r for r in ps if r["Service"] == "db")["Health"] == "healthy"
    assert host.http("http://127.0.0.1:28080/") == "hello e2e\n"

    # the dependency gate: api started only after db was healthy
    ev = [json.loads(x) for x in host.pystack("-f", str(f), "events", "--json").stdout.splitlines()]
    starts = {e["service"]: e["time"] for e in ev if e["action"] == "start"}
    assert starts["db"] < starts["api"] < starts["web"]

    # nothing changed: an empty plan, and the containers are the same ones
    dry = host.pystack("-f", str(f), "up", "--dry-run").stdout
    assert "nothing to do" in dry
    host.pystack("-f", str(f), "up", "-d")
    again = json.loads(host.pystack("-f", str(f), "ps", "--format", "json").stdout)
    assert sorted(r["ID"] for r in again) == sorted(r["ID"] for r in ps)

    host.pystack("-f", str(f), "down", "-v", "-t", "0")
    assert json.loads(host.pystack("-f", str(f), "ps", "-a", "--format", "json").stdout) == []
    links = host.sh("ip -o link show").stdout
    assert "veth" not in links and "ps-" not in links.replace("lo:", "")
    assert not (host.root / "volumes" / "e2ebasic_dbdata").exists()


def test_invalid_stack_creates_nothing(host: Host) -> None:
    f = host.write("compose.yaml", "services:\n  a:\n    image: busybox:latest\n    ports: ['80:abc']\n")
    res = host.pystack("-f", str(f), "up", "-d", check=False)
    assert res.returncode == 1
    assert "compose.yaml:4" in res.stderr and "ports" in res.stderr
    assert "Traceback" not in res.stderr
    assert json.loads(host.pystack("-p", "work", "ps", "-a", "--format", "json").stdout) == []
