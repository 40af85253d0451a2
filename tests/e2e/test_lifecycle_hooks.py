"""A service's ``post_start`` and ``pre_stop`` hooks, run as Compose runs them.

After every start and before every stop that a command makes (``up``, ``start``, ``stop``,
``restart``, ``down``), never around a restart by the restart policy; with the exec options of
each hook (user, environment, working directory) over the container's own. A failing
``post_start`` fails the command and leaves the container running; a failing or slow ``pre_stop``
is reported and the stop goes on, within the grace period. Before, both keys were accepted with a
warning and never run.
"""

from __future__ import annotations

import time

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

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


def test_a_failing_post_start_stops_its_container_and_a_failing_pre_stop_keeps_it_running(host: Host) -> None:
    """As the compose-spec says: a failed post_start stops the container (and fails ``up``); a
    failed (or overrunning) pre_stop aborts the stop, and so ``stop`` and ``down`` fail and leave
    it running; ``down -t 0`` runs no hooks and takes it all down."""
    host.write("out/.keep", "")
    f = str(host.write("compose.yaml", """
name: hooks2
services:
  app:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    post_start:
      - command: sh -c 'echo cannot register; exit 3'
  web:
    image: busybox:latest
    network_mode: none
    command: ["sleep", "3600"]
    depends_on: [app]
  db:
    image: busybox:latest
    network_mode: none
    volumes: ["./out:/out"]
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    pre_stop:
      - command: sh -c '[ -e /out/flushed ] || { echo cannot flush; exit 4; }'
      - command: sh -c '[ -e /out/quick ] || sleep 60'
"""))

    def states() -> dict[str, str]:
        rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
        return {r["Service"]: r["State"] for r in rows}

    res = host.pystack("-f", f, "up", "-d", check=False)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "container hooks2-app-1: post_start hook \"sh -c 'echo cannot register; exit 3'\" failed: exit code 3: " \
           "cannot register; the container was stopped" in res.stderr
    assert states() == {"app": "exited", "web": "created", "db": "running"}  # web was never started

    res = host.pystack("-f", f, "stop", "-t", "5", "db", check=False)
    assert res.returncode != 0
    assert "pre_stop hook \"sh -c '[ -e /out/flushed ] || { echo cannot flush; exit 4; }'\" failed: exit code 4: " \
           "cannot flush; the container was not stopped" in res.stderr
    assert states()["db"] == "running"
    host.write("out/flushed", "")
    res = host.pystack("-f", f, "down", "-t", "1", check=False)  # the second hook overruns its second
    assert res.returncode != 0 and "still running after" in res.stderr and "nothing was removed" in res.stderr
    assert states()["db"] == "running"
    host.write("out/quick", "")
    host.pystack("-f", f, "stop", "db")  # both hooks pass now
    assert states()["db"] == "exited"
    host.pystack("-f", f, "start", "db")
    res = host.pystack("-f", f, "down", "-t", "0")  # no hooks at all
    assert "pre_stop hooks skipped: no grace period (-t 0)" in res.stderr
    assert host.pystack("-f", f, "ps", "-a", "--format", "json").stdout.strip() == ""
