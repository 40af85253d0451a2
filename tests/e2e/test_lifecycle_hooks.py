"""A service's ``post_start`` and ``pre_stop`` hooks, run as Compose runs them.

After every start and before every stop that a command makes (``up``, ``start``, ``stop``,
``restart``, ``down``), never around a restart by the restart policy; with the exec options of
each hook (user, environment, working directory) over the container's own. A failing
``post_start`` fails the command and leaves the container running; a failing or slow ``pre_stop``
is reported and the stop goes on, within the grace period. Before, both keys were accepted with a
warning and never run.
"""

from __future__ import annotations

import json
import time

from tests.e2e.conftest import Host

STACK = """
name: {name}
services:
  app:
    image: busybox:latest
    network_mode: none
    user: "1000"
    restart: always
    volumes: ["./out:/out"]
    command: ["sh", "-c", "echo started >> /out/starts; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    post_start:
      - command: sh -c 'echo post_start >> /out/events; chown 1000 /out/events'
        user: root
      - command: ["sh", "-c", "echo \\"$$GREETING $$(id -u) $$(pwd)\\" > /out/whoami"]
        environment: {{GREETING: hello}}
        working_dir: /tmp
    pre_stop:
      - command: sh -c 'echo pre_stop >> /out/events'
"""


def _events(host: Host) -> list[str]:
    path = host.workdir / "out" / "events"
    return path.read_text().split() if path.exists() else []


def _starts(host: Host) -> int:
    path = host.workdir / "out" / "starts"
    return len(path.read_text().split()) if path.exists() else 0


def test_hooks_run_around_the_starts_and_stops_a_command_makes(host: Host) -> None:
    host.write("out/.keep", "")
    (host.workdir / "out").chmod(0o777)
    f = str(host.write("compose.yaml", STACK.format(name="hooks1")))
    host.pystack("-f", f, "up", "-d")
    assert _events(host) == ["post_start"]
    # the container's user and the hook's environment and directory; the first hook ran as root
    assert (host.workdir / "out" / "whoami").read_text() == "hello 1000 /tmp\n"
    host.pystack("-f", f, "restart")
    assert _events(host) == ["post_start", "pre_stop", "post_start"]
    host.pystack("-f", f, "stop")
    host.pystack("-f", f, "start")
    assert _events(host) == ["post_start", "pre_stop", "post_start", "pre_stop", "post_start"]
    assert _starts(host) == 3
    host.pystack("-f", f, "kill")  # SIGKILL: the restart policy starts it again, without hooks
    deadline = time.monotonic() + 30
    while _starts(host) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _starts(host) == 4
    time.sleep(0.5)  # a hook run after that start would have written by now
    assert _events(host) == ["post_start", "pre_stop", "post_start", "pre_stop", "post_start"]
    host.pystack("-f", f, "down")
    assert _events(host)[-1] == "pre_stop"


def test_a_failing_post_start_fails_up_and_a_failing_pre_stop_does_not_stop_the_stop(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: hooks2
services:
  app:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    post_start:
      - command: sh -c 'echo cannot register; exit 3'
    pre_stop:
      - command: sh -c 'echo cannot flush; exit 4'
      - command: sleep 60
  web:
    image: busybox:latest
    network_mode: none
    command: ["sleep", "3600"]
    depends_on: [app]
"""))
    res = host.pystack("-f", f, "up", "-d", check=False)
    assert res.returncode != 0
    assert "container hooks2-app-1: post_start hook \"sh -c 'echo cannot register; exit 3'\" failed: exit code 3: " \
           "cannot register" in res.stderr
    assert "Traceback" not in res.stderr
    rows = {r["Service"]: r["State"] for r in json.loads(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)}
    assert rows == {"app": "running", "web": "created"}  # it runs on; what depends on it was not started
    res = host.pystack("-f", f, "stop", "-t", "2", "app")
    assert "pre_stop hook \"sh -c 'echo cannot flush; exit 4'\" failed: exit code 4: cannot flush" in res.stderr
    assert "pre_stop hook 'sleep 60' failed: still running after" in res.stderr
    rows = {r["Service"]: r["State"] for r in json.loads(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)}
    assert rows["app"] == "exited"
    host.pystack("-f", f, "down", "-t", "0")
