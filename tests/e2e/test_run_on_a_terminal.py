"""``run`` on a terminal: what the container prints reaches the terminal, however soon it ends, and
is in ``logs``, as Docker's json-file records a tty container; what ``exec`` prints there is not."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from orchestrator.paths import Paths
from tests.e2e.conftest import Host
from tests.e2e.onpty import OnPty
from tests.helpers.output import json_lines

SERVICE = """
name: {name}
services:
  one:
    image: busybox:latest
    network_mode: none
"""


def test_a_command_that_ends_at_once_still_shows_its_output(host: Host) -> None:
    """Its PID 1 may be gone before the relay begins (the runtime then names no pid), its output
    still in the pty. Before, the pty was closed unread and the terminal showed nothing, about
    one run in two on this machine."""
    f = str(host.write("compose.yaml", SERVICE.format(name="ptylog0")))
    for i in range(6):
        with OnPty(host, "-f", f, "run", "--rm", "one", "echo", f"quick-{i}") as t:
            assert t.finish(60) == 0, t.out
        assert f"quick-{i}\r\n".encode() in t.out
    host.pystack("-f", f, "down", "-t", "0")


def _logs(host: Host, f: str) -> str:
    """What ``logs`` prints (newlines as text mode reads them: ``\\r\\n`` becomes ``\\n``)."""
    return host.pystack("-f", f, "logs", "--no-log-prefix").stdout


def _log_file(host: Host, f: str) -> Path:
    (row,) = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    return Paths(host.root).container(row["ID"]) / "log.json"


def _records(host: Host, f: str) -> list[tuple[str, str]]:
    """``(stream, log)`` of each record in the log file of the project's one container, byte-exact."""
    return [(r["stream"], r["log"]) for r in map(json.loads, _log_file(host, f).read_text().splitlines())]


def test_a_run_on_a_terminal_records_its_output_for_logs(host: Host) -> None:
    """One stream (stdout), bytes as the pty gave them (``\\r\\n`` from the line discipline), and a
    last line without its newline written when the pty closes. ``logs`` reaches the one-off
    container as long as it exists (no ``--rm``), as with Compose."""
    f = str(host.write("compose.yaml", SERVICE.format(name="ptylog1")))
    with OnPty(host, "-f", f, "run", "one", "sh", "-c", "echo line-one; echo line-two; printf partial; exit 2") as t:
        code = t.finish(60)
    assert code == 2, t.out
    assert b"line-one" in t.out and b"partial" in t.out  # the terminal still gets it all
    assert _records(host, f) == [("stdout", "line-one\r\n"), ("stdout", "line-two\r\n"), ("stdout", "partial")]
    assert _logs(host, f) == "line-one\nline-two\npartial\n"
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert [(r["State"], r["ExitCode"]) for r in rows] == [("exited", 2)]
    host.pystack("-f", f, "down", "-t", "0")


def test_an_interactive_run_keeps_each_line_whole_in_the_log(host: Host) -> None:
    """As Docker: a line is recorded at its newline, not after a pause, so the prompt and the
    keys echoed after it (typed slowly here) are one record, followed by the command's output."""
    f = str(host.write("compose.yaml", SERVICE.format(name="ptylog2")))
    with OnPty(host, "-f", f, "run", "one", "sh") as t:
        assert t.read_until(b"# ", 60), t.out
        t.type(b"echo hel")
        time.sleep(0.5)  # longer than a pipe's partial line may wait (logfile.IDLE_FLUSH)
        t.type(b"lo-$((6*7))\r")
        assert t.read_until(b"hello-42", 30), t.out
        t.type(b"exit 5\r")
        assert t.finish(30) == 5, t.out
    logged = [text for _, text in _records(host, f)]
    at = next(i for i, x in enumerate(logged) if "echo hel" in x)
    assert "# " in logged[at] and logged[at].endswith("echo hello-$((6*7))\r\n"), logged
    assert logged[at + 1] == "hello-42\r\n"
    assert "hello-42" in _logs(host, f)
    host.pystack("-f", f, "down", "-t", "0")


def test_the_log_of_a_run_on_a_terminal_keeps_to_the_service_s_size_limits(host: Host) -> None:
    """``logging.options`` ``max-size`` and ``max-file`` hold for these records as for the monitor's."""
    f = str(host.write("compose.yaml", SERVICE.format(name="ptylog4") + """    logging:
      driver: json-file
      options: {max-size: "400", max-file: "2"}
"""))
    with OnPty(host, "-f", f, "run", "one", "sh", "-c", "for i in $(seq 1 60); do echo line-$i; done") as t:
        assert t.finish(60) == 0, t.out
    live = _log_file(host, f)
    rotated = Path(f"{live}.1")
    assert live.stat().st_size <= 400 and rotated.stat().st_size <= 400
    assert not Path(f"{live}.2").exists()
    assert _records(host, f)[-1] == ("stdout", "line-60\r\n")
    host.pystack("-f", f, "down", "-t", "0")


def test_a_run_whose_terminal_goes_away_records_the_rest_and_how_it_ended(host: Host) -> None:
    """A closed window or a dropped connection: the command (sent SIGHUP, which it passes on and
    the container ignores here) goes on recording until the container ends, then records its exit.
    Before, its first write to the vanished terminal raised: it died, the pty closed, and what
    the container printed afterwards went nowhere."""
    f = str(host.write("compose.yaml", SERVICE.format(name="ptylog5") + """    volumes: ["./flag:/flag"]
"""))
    host.write("flag/.keep", "")
    script = ('trap "" HUP; echo before; while [ ! -e /flag/go ]; do sleep 0.05; done; '
              "echo after-1; echo after-2; exit 3")
    with OnPty(host, "-f", f, "run", "one", "sh", "-c", script) as t:
        assert t.read_until(b"before", 60), t.out
        t.hang_up()
        time.sleep(0.5)  # the command has seen its terminal go by now
        host.write("flag/go", "")
        assert t.finish(60) == 3
    assert _records(host, f) == [("stdout", "before\r\n"), ("stdout", "after-1\r\n"), ("stdout", "after-2\r\n")]
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert [(r["State"], r["ExitCode"]) for r in rows] == [("exited", 3)]
    host.pystack("-f", f, "down", "-t", "0")


def _exited(host: Host, f: str, seconds: float) -> list[tuple[str, int]]:
    """``(State, ExitCode)`` of the project's containers, once none runs (or the deadline passed)."""
    deadline = time.monotonic() + seconds
    while True:
        rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
        if all(r["State"] != "running" for r in rows) or time.monotonic() > deadline:
            return [(r["State"], r["ExitCode"]) for r in rows]
        time.sleep(0.1)


def test_a_run_killed_with_sigkill_leaves_its_container_running_and_logged(host: Host) -> None:
    """``kill -9`` of the command (the OOM killer, a CI job's time-out), as Docker's client killed:
    the engine holds the pty there, so the container goes on, what it prints is in ``logs`` and
    its exit is recorded. Here the container's monitor holds a copy of the master and takes the
    relay over. Before, the pty's only master closed with the command and nothing the container
    printed after the kill was recorded."""
    f = str(host.write("compose.yaml", SERVICE.format(name="ptylog6") + """    volumes: ["./flag:/flag"]
"""))
    host.write("flag/.keep", "")
    script = "echo before; while [ ! -e /flag/go ]; do sleep 0.05; done; echo after-1; echo after-2; exit 3"
    with OnPty(host, "-f", f, "run", "one", "sh", "-c", script) as t:
        assert t.read_until(b"before", 60), t.out
        os.kill(t.pid, signal.SIGKILL)
        assert t.finish(30) == -signal.SIGKILL
    time.sleep(0.5)  # the container outlives its command: still waiting for the flag
    assert _exited(host, f, 0) == [("running", None)]
    host.write("flag/go", "")
    assert _exited(host, f, 30) == [("exited", 3)]
    assert _records(host, f) == [("stdout", "before\r\n"), ("stdout", "after-1\r\n"), ("stdout", "after-2\r\n")]
    host.pystack("-f", f, "down", "-t", "0")


def test_what_exec_prints_on_a_terminal_is_not_logged(host: Host) -> None:
    """Docker logs the container's own output only, never an exec's."""
    f = str(host.write("compose.yaml", """
name: ptylog3
services:
  one:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "echo service-output; exec sleep 3600"]
"""))
    host.pystack("-f", f, "up", "-d")
    deadline = time.monotonic() + 20
    while "service-output" not in _logs(host, f) and time.monotonic() < deadline:
        time.sleep(0.1)
    with OnPty(host, "-f", f, "exec", "one", "sh", "-c", "[ -t 1 ] && echo exec-on-a-tty") as t:
        assert t.finish(60) == 0, t.out
    assert b"exec-on-a-tty" in t.out
    assert _logs(host, f) == "service-output\n"
    host.pystack("-f", f, "down", "-t", "0")
