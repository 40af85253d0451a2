"""A service's ``tty`` and ``stdin_open``, as Docker Compose runs them.

``tty: true`` gives the container a pty of its own, whose master its monitor holds and logs (one
stream, stdout, as Docker's json-file records a tty container). ``stdin_open: true`` keeps the
process's standard input open and unwritten. Either keeps an interactive shell waiting rather than
ending at once: the idiom of many compose files for a dev container (``command: sh`` with
``tty: true`` and ``stdin_open: true``). Before, both keys were accepted and did nothing: the shell
read EOF and the container exited at once. Each holds through a restart, and with runc as the
service's runtime too.
"""

from __future__ import annotations

import json
import time

import pytest

from orchestrator.paths import Paths
from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

IDIOMS = """
name: {name}
services:
  both:
    image: busybox:latest
    network_mode: none
    tty: true
    stdin_open: true
    command: sh
  tty:
    image: busybox:latest
    network_mode: none
    tty: true
    command: sh
  stdin:
    image: busybox:latest
    network_mode: none
    stdin_open: true
    command: ["sh", "-c", "echo waiting; read line; echo read-something"]
  neither:
    image: busybox:latest
    network_mode: none
    command: sh
"""


def _states(host: Host, f: str) -> dict[str, str]:
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    return {r["Service"]: r["State"] for r in rows}


def _wait_for(host: Host, f: str, service: str, state: str, seconds: float = 30) -> dict[str, str]:
    deadline = time.monotonic() + seconds
    states = _states(host, f)
    while states.get(service) != state and time.monotonic() < deadline:
        time.sleep(0.1)
        states = _states(host, f)
    return states


def _log(host: Host, f: str, service: str) -> list[tuple[str, str]]:
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    (cid,) = [r["ID"] for r in rows if r["Service"] == service]
    path = Paths(host.root).container(cid) / "log.json"
    return [(r["stream"], r["log"]) for r in map(json.loads, path.read_text().splitlines())]


@pytest.mark.parametrize("runtime", ["pystack", "runc"])
def test_a_shell_with_tty_or_stdin_open_keeps_waiting_and_one_without_ends(host: Host, runtime: str) -> None:
    text = IDIOMS.format(name=f"ttyidiom{runtime}")
    if runtime != "pystack":
        text = text.replace("    network_mode: none\n", f"    network_mode: none\n    runtime: {runtime}\n")
    f = str(host.write("compose.yaml", text))
    host.pystack("-f", f, "up", "-d")
    states = _wait_for(host, f, "neither", "exited")  # its shell read EOF on /dev/null and ended
    time.sleep(0.5)  # the others started with it: had they read EOF, they would have ended by now
    assert _states(host, f) == {"both": "running", "tty": "running", "stdin": "running", "neither": "exited"}, states
    for service in ("both", "tty", "stdin"):
        assert host.pystack("-f", f, "exec", "-T", service, "echo", "alive").stdout == "alive\n"
    assert _log(host, f, "stdin") == [("stdout", "waiting\n")]
    host.pystack("-f", f, "restart", "stdin", "tty")  # a new process: its input is held open again
    time.sleep(0.5)
    assert _states(host, f) == {"both": "running", "tty": "running", "stdin": "running", "neither": "exited"}
    host.pystack("-f", f, "down", "-t", "0")


def test_a_tty_service_s_output_is_one_stream_on_a_terminal(host: Host) -> None:
    """Standard input, output and error are the pty (the container's ``/dev/console``); what the
    process writes to either stream is recorded as stdout, ``\\r\\n`` from the line discipline,
    and ``logs`` shows it; a service without ``tty`` keeps its two pipes."""
    f = str(host.write("compose.yaml", """
name: ttyout
services:
  tty:
    image: busybox:latest
    network_mode: none
    tty: true
    command: ["sh", "-c", "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo on-a-terminal; echo to-stderr >&2; exec sleep 3600"]
  pipes:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "[ -t 1 ] || echo on-pipes; echo to-stderr >&2; exec sleep 3600"]
"""))
    host.pystack("-f", f, "up", "-d")
    deadline = time.monotonic() + 20
    while len(_log(host, f, "tty")) < 2 or len(_log(host, f, "pipes")) < 2:
        assert time.monotonic() < deadline, (_log(host, f, "tty"), _log(host, f, "pipes"))
        time.sleep(0.1)
    assert _log(host, f, "tty") == [("stdout", "on-a-terminal\r\n"), ("stdout", "to-stderr\r\n")]
    assert sorted(_log(host, f, "pipes")) == [("stderr", "to-stderr\n"), ("stdout", "on-pipes\n")]
    logs = host.pystack("-f", f, "logs", "--no-log-prefix", "tty").stdout
    assert logs == "on-a-terminal\nto-stderr\n"
    host.pystack("-f", f, "down", "-t", "0")
