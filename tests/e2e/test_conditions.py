"""``depends_on`` conditions, health failures, profiles and ``--exit-code-from``."""

from __future__ import annotations

import json

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines


def _states(host: Host, f: str) -> dict[str, str]:
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    return {str(r["Service"]): str(r["State"]) for r in rows}


def test_completed_successfully_and_unhealthy_dependencies(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: e2econd
services:
  migrate:
    image: busybox:latest
    command: ["sh", "-c", "sleep 0.3; echo migrated"]
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    depends_on:
      migrate: {condition: service_completed_successfully}
  sick:
    image: busybox:latest
    command: ["sleep", "1000"]
    healthcheck: {test: ["CMD", "false"], interval: 0.2s, retries: 2}
  needs_sick:
    image: busybox:latest
    command: ["sleep", "1000"]
    depends_on:
      sick: {condition: service_healthy}
  optional_dep:
    image: busybox:latest
    command: ["sleep", "1000"]
    profiles: [extra]
  tolerant:
    image: busybox:latest
    command: ["sleep", "1000"]
    depends_on:
      optional_dep: {condition: service_started, required: false}
"""))
    res = host.pystack("-f", f, "up", "-d", check=False)
    assert res.returncode == 1
    assert "service needs_sick: dependency sick is unhealthy" in res.stderr
    st = _states(host, f)
    assert st["migrate"] == "exited" and st["app"] == "running"
    assert st["needs_sick"] == "created"  # made with the others (as Compose v2 does), never started
    assert st["tolerant"] == "running" and "optional_dep" not in st  # profile off, dependency not required

    events = [json.loads(x) for x in host.pystack("-f", f, "events", "--json", "--since", "0", "--until", "0s")
              .stdout.splitlines()]
    order = [(e["service"], e["action"]) for e in events if e["action"] in ("start", "stop")]
    assert order.index(("migrate", "start")) < order.index(("app", "start"))


def test_profiles_and_exit_code_from(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: e2eprof
services:
  base:
    image: busybox:latest
    command: ["sleep", "1000"]
  tool:
    image: busybox:latest
    command: ["sh", "-c", "echo tool ran; exit 5"]
    profiles: [tools]
"""))
    host.pystack("-f", f, "up", "-d")
    assert _states(host, f) == {"base": "running"}
    res = host.pystack("-f", f, "--profile", "tools", "up", "--exit-code-from", "tool", "-t", "0", check=False)
    assert res.returncode == 5
    assert "tool-1 | tool ran" in res.stdout
