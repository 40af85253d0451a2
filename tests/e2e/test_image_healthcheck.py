"""A Dockerfile HEALTHCHECK is the service's health check, completed field by field by the stack file's."""

from __future__ import annotations

import time

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

STACK = """
name: hltimghealth
services:
  db:
    build: ./ready
    command: ["sh", "-c", "sleep 1; touch /tmp/ok; exec sleep 1000"]
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    depends_on:
      db: {condition: service_healthy}
  off:
    build: ./ready
    command: ["sleep", "1000"]
    healthcheck: {disable: true}
  tuned:
    build: ./slow
    command: ["sleep", "1000"]
    healthcheck: {interval: 1s}
"""


def _rows(host: Host, f: str) -> dict[str, dict[str, object]]:
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    return {str(r["Service"]): r for r in rows}


def test_image_healthcheck_gates_dependants_and_merges_with_the_stack_file(host: Host) -> None:
    host.write("ready/Dockerfile", "FROM busybox:latest\nHEALTHCHECK --interval=1s CMD test -e /tmp/ok\n")
    # an hour between probes and one retry: only the stack file's interval can make it unhealthy soon
    host.write("slow/Dockerfile", "FROM busybox:latest\nHEALTHCHECK --interval=1h --retries=1 CMD test -e /tmp/ok\n")
    f = str(host.write("compose.yaml", STACK))
    try:
        out = host.pystack("-f", f, "up", "-d", "--wait", "db", "app").stderr
        assert out.index("hltimghealth-db-1  Healthy") < out.index("hltimghealth-app-1  Started"), out
        rows = _rows(host, f)
        assert rows["db"]["Health"] == "healthy" and rows["app"]["State"] == "running"

        host.pystack("-f", f, "up", "-d")
        deadline = time.monotonic() + 20
        while _rows(host, f)["tuned"]["Health"] != "unhealthy":
            assert time.monotonic() < deadline, "the stack file's interval was not applied to the image's check"
            time.sleep(0.3)
        rows = _rows(host, f)
        assert rows["off"]["State"] == "running" and rows["off"]["Health"] == ""  # disable: true wins
        assert rows["db"]["Health"] == "healthy"  # not recreated by the second up
    finally:
        host.pystack("-f", f, "down", "-t", "0", "--rmi", "local", check=False)
