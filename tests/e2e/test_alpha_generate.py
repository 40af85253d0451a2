"""``alpha generate``: a stack file written back from running containers loads on its own and brings
up the same services (environment, mounts, secrets, networks, health checks, replicas) as a new
project; references to services left out are dropped with a warning."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

pytestmark = pytest.mark.root

STACK = """
name: gentest
services:
  web:
    image: busybox:latest
    command: [sh, -c, "cat /run/secrets/token /x/file; echo; sleep 1000"]
    environment: {GREETING: hello, PRICE: "$$5"}
    env_file: [vars.env]
    volumes: [data:/data, ./x:/x:ro]
    labels: {team: shop}
    healthcheck: {test: [CMD, "true"], interval: 1s}
    networks: [back, default]
    secrets: [token]
    depends_on: [db]
  db:
    image: busybox:latest
    command: [sleep, "1000"]
    networks: [back]
  worker:
    image: busybox:latest
    command: [sleep, "1000"]
    scale: 2
    depends_on: [db]
volumes:
  data: {}
networks:
  back: {internal: true}
secrets:
  token: {file: ./token.txt}
"""


def test_generated_file_brings_the_services_up_again(host: Host) -> None:
    host.write("vars.env", "FROM_FILE=yes\n")
    host.write("token.txt", "tok\n")
    host.write("x/file", "bound\n")
    f = str(host.write("compose.yaml", STACK))
    host.pystack("-f", f, "up", "-d", "--wait")
    host.pystack("-f", f, "exec", "-T", "web", "sh", "-c", "echo kept > /data/v")

    res = host.pystack("alpha", "generate", "--name", "gentwo", "gentest-")
    assert res.stderr.splitlines() == ["generate command is EXPERIMENTAL"]
    doc = yaml.safe_load(res.stdout)
    assert doc["name"] == "gentwo" and sorted(doc["services"]) == ["db", "web", "worker"]
    web = doc["services"]["web"]
    assert web["environment"] == {"FROM_FILE": "yes", "GREETING": "hello", "PRICE": "$$5"}
    assert "env_file" not in web and web["labels"] == {"team": "shop"}
    assert doc["services"]["worker"]["scale"] == 2
    assert doc["networks"] == {"back": {"internal": True}}
    assert doc["volumes"] == {"data": {}}  # no name: the new project gets its own volume
    assert doc["secrets"] == {"token": {"file": str(host.workdir / "token.txt")}}
    assert json.loads(host.pystack("alpha", "generate", "--format", "json", "gentest-").stdout)["services"] \
        .keys() == {"db", "web", "worker"}

    again = host.write("again/compose.yaml", res.stdout)
    host.pystack("-f", str(again), "up", "-d", "--wait")
    rows = json_lines(host.pystack("-f", str(again), "ps", "--format", "json").stdout)
    assert sorted(r["Name"] for r in rows) == ["gentwo-db-1", "gentwo-web-1", "gentwo-worker-1", "gentwo-worker-2"]
    assert all(r["State"] == "running" for r in rows)
    out = host.pystack("-f", str(again), "exec", "-T", "web", "sh", "-c",
                       "echo $GREETING $FROM_FILE $PRICE; cat /run/secrets/token /x/file; ls /data").stdout
    assert out.split() == ["hello", "yes", "$5", "tok", "bound"]  # a fresh, empty volume
    health = json_lines(host.pystack("-f", str(again), "ps", "--format", "json", "web").stdout)[0]["Health"]
    assert health in ("starting", "healthy")
    host.pystack("-f", str(again), "down", "-t", "0", "-v")

    part = host.pystack("alpha", "generate", "gentest-worker")
    assert "WARN service 'worker': depends_on db dropped: no container of it was chosen" in part.stderr
    only = yaml.safe_load(part.stdout)
    assert list(only["services"]) == ["worker"] and "depends_on" not in only["services"]["worker"]
    host.write("part/compose.yaml", part.stdout)
    assert host.pystack("-f", str(host.workdir / "part" / "compose.yaml"), "config", "--services").stdout.split() \
        == ["worker"]

    none = host.pystack("alpha", "generate", "nothing-like-this", check=False)
    assert none.returncode != 0 and "no container(s) found with the following name(s): nothing-like-this" \
        in none.stderr and "Traceback" not in none.stderr
    host.pystack("-f", f, "down", "-t", "0", "-v")
