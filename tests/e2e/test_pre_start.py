"""``pre_start`` hooks as Compose runs them: one-shot containers that inherit the service, run in
order before its new containers first start, once per service (or ``per_replica``), again only
when the container is made anew; a failing one leaves the service created and names itself."""

from __future__ import annotations

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

STACK = """
name: e2eprestart
services:
  app:
    image: busybox:latest
    command: ["sh", "-c", "cat /shared/init.txt; echo mode=$$MODE; sleep 1000"]
    environment: {{MODE: service, KEEP: kept}}
    volumes: ["data:/shared", "./ro:/ro:ro"]
    scale: {scale}
    pre_start:
      - command: ["sh", "-c", "echo initialized-$$KEEP > /shared/init.txt; echo token >> /shared/tokens;
                   echo A >> /shared/order"]
      - command: ["sh", "-c", "echo B-$$MODE >> /shared/order; touch /ro/written-through-own-mount"]
        environment: [MODE=hook]
        volumes: ["./ro:/ro"]
      - command: ["sh", "-c", "echo replica >> /shared/replicas"]
        per_replica: true
volumes:
  data:
"""


def _read(host: Host, f: str, path: str) -> str:
    return host.pystack("-f", f, "exec", "-T", "app", "cat", path).stdout


def _state(host: Host, f: str) -> list[str]:
    return [r["State"] for r in json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json", "app").stdout)]


def test_hooks_prepare_the_service_once_and_again_only_on_a_new_container(host: Host) -> None:
    host.write("ro/.keep", "")
    f = str(host.write("compose.yaml", STACK.format(scale=2)))
    out = host.pystack("-f", f, "up", "-d").stderr
    assert "e2eprestart-app-pre_start-0" in out
    assert _state(host, f) == ["running", "running"]
    # inherited: the volume, the environment; its own entries win (MODE) and its own rw mount
    assert _read(host, f, "/shared/order").split() == ["A", "B-hook"]
    assert _read(host, f, "/shared/tokens").split() == ["token"]  # once for the service, with 2 replicas
    assert _read(host, f, "/shared/replicas").split() == ["replica", "replica"]  # per_replica: for each
    assert (host.workdir / "ro" / "written-through-own-mount").exists()
    logs = host.pystack("-f", f, "logs", "--no-log-prefix", "app").stdout
    assert "initialized-kept" in logs and "mode=service" in logs
    # no runner is left behind
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert sorted(r["Name"] for r in rows) == ["e2eprestart-app-1", "e2eprestart-app-2"]

    host.pystack("-f", f, "up", "-d")  # nothing changed: nothing runs again
    host.pystack("-f", f, "stop", "-t", "0")
    host.pystack("-f", f, "start")  # the same containers: their hooks have run
    host.pystack("-f", f, "up", "-d", "--scale", "app=3")  # a new replica while others run
    assert _read(host, f, "/shared/tokens").split() == ["token"]
    assert _read(host, f, "/shared/replicas").split() == ["replica"] * 3

    host.pystack("-f", f, "up", "-d", "--force-recreate", "-t", "0")  # new containers: again
    assert _read(host, f, "/shared/tokens").split() == ["token", "token"]
    host.pystack("-f", f, "down", "-t", "0", "-v")


def test_a_failing_hook_leaves_the_service_created_and_create_then_start_runs_them(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: e2eprefail
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    volumes: ["data:/shared"]
    pre_start:
      - command: ["sh", "-c", "echo ran-0 >> /shared/hooks"]
      - command: ["sh", "-c", "echo about to fail; [ -e /shared/go ] || exit 17"]
volumes:
  data:
"""))
    res = host.pystack("-f", f, "up", "-d", check=False)
    assert res.returncode == 1, res.stderr
    assert "pre_start[1] exited with status 17: about to fail" in res.stderr
    assert _state(host, f) == ["created"]
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert [r["Name"] for r in rows] == ["e2eprefail-app-1"]  # the runners are gone
    # the next try runs them all again, in order; with the fix in place it starts
    host.pystack("-f", f, "run", "--rm", "--no-deps", "-T", "--entrypoint", "touch", "app", "/shared/go")
    res = host.pystack("-f", f, "start", check=False)
    assert res.returncode == 0, res.stderr
    assert _state(host, f) == ["running"]
    assert _read(host, f, "/shared/hooks").split() == ["ran-0", "ran-0"]
    host.pystack("-f", f, "down", "-t", "0", "-v")
