"""``exec``, ``run --rm``, ``logs -f`` and service discovery by name between containers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from orchestrator.paths import Paths
from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

STACK = """
name: e2eexec
services:
  api:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "8000", "-h", "/srv"]
    volumes: ["./srv:/srv:ro"]
    networks:
      default:
        aliases: [backend]
  client:
    image: busybox:latest
    command: ["sh", "-c", "while true; do echo tick; sleep 0.3; done"]
    depends_on: [api]
"""


def test_exec_run_and_dns(host: Host) -> None:
    host.write("srv/index.html", "api says hi\n")
    f = str(host.write("compose.yaml", STACK))
    host.pystack("-f", f, "up", "-d")
    res = host.pystack("-f", f, "exec", "-T", "client", "cat", "/etc/hostname")
    assert res.stdout.strip()
    # by service name and by alias, through the stack's DNS
    for name in ("api", "backend", "e2eexec-api-1"):
        out = ""
        for _ in range(50):
            r = host.pystack("-f", f, "exec", "-T", "client", "timeout", "3", "wget", "-q", "-O-", f"http://{name}:8000/",
                             check=False)
            out = r.stdout
            if r.returncode == 0:
                break
            time.sleep(0.1)
        assert out == "api says hi\n", name
    bad = host.pystack("-f", f, "exec", "-T", "client", "nslookup", "nosuchservice", check=False)
    assert bad.returncode != 0

    code = host.pystack("-f", f, "exec", "-T", "client", "sh", "-c", "exit 7", check=False).returncode
    assert code == 7

    run = host.pystack("-f", f, "run", "--rm", "-T", "--no-deps", "client", "sh", "-c", "echo one-off; exit 4",
                       check=False)
    assert run.returncode == 4 and "one-off" in run.stdout
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert not any("run" in r["Name"] for r in rows)


def test_logs_follow_across_restart(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK))
    host.write("srv/index.html", "x\n")
    host.pystack("-f", f, "up", "-d")
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f, "logs", "-f",
           "--no-color", "client"]
    with subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=subprocess.PIPE, text=True) as proc:
        try:
            time.sleep(1.0)
            host.pystack("-f", f, "restart", "-t", "0", "client")
            time.sleep(1.5)
        finally:
            proc.terminate()
        out = proc.communicate(timeout=10)[0]
    lines = [x for x in out.splitlines() if "tick" in x]
    assert len(lines) >= 4
    assert all(x.startswith("client-1") for x in lines)


def test_logs_follow_ends_when_every_container_has_exited_for_good(host: Host) -> None:
    """As ``docker logs -f`` and Compose's: a restart is followed through, the last exit ends it."""
    f = str(host.write("compose.yaml", """
name: e2elogsend
services:
  once:
    image: busybox:latest
    command: [sh, -c, "echo start; sleep 0.3; echo last words; exit 1"]
    restart: on-failure:1
"""))
    host.pystack("-f", f, "up", "-d")
    res = host.pystack("-f", f, "logs", "-f", "--no-color", timeout=30)
    assert res.stdout.splitlines() == ["once-1 | start", "once-1 | last words"] * 2
    host.pystack("-f", f, "down", "-t", "0")


def test_run_on_a_stack_that_was_never_up_has_dns_and_its_ports(host: Host) -> None:
    """``run`` starts the stack's network service itself: names resolve and ``--service-ports``
    forwards, as with Compose, even when no ``up`` ever ran."""
    f = str(host.write("compose.yaml", """
name: e2erunnet
services:
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "80", "-h", "/"]
    ports: ["127.0.0.1:28194:80"]
  tool:
    image: busybox:latest
    networks: [side]
networks:
  side: {}
"""))
    # a one-off answers to the service's name only with --use-aliases, as in Compose
    host.pystack("-f", f, "run", "-d", "-P", "--use-aliases", "web")  # -P: --service-ports
    assert host.http("http://127.0.0.1:28194/etc/hostname").strip()
    out = host.pystack("-f", f, "run", "--rm", "-T", "web", "nslookup", "web").stdout
    assert "Name:\tweb" in out and "Address: 10." in out
    # a network that the running service has not seen yet: it listens on its gateway before the start
    out = host.pystack("-f", f, "run", "--rm", "-T", "--use-aliases", "tool", "nslookup", "tool").stdout
    assert "Name:\ttool" in out and "Address: 10." in out
    host.pystack("-f", f, "down", "-t", "0")


def test_run_env_from_file_is_read_as_an_env_file_and_e_wins(host: Host) -> None:
    """``run --env-from-file`` (Compose's): dotenv lines, ``${VAR}`` from the command's environment,
    later files and then ``-e`` winning; a bad file is one error at its line, before anything starts."""
    f = str(host.write("compose.yaml", """
name: e2erunenvfile
services:
  app:
    image: busybox:latest
    network_mode: none
    environment: {FROM_SERVICE: kept, SHARED: service}
"""))
    host.write("one.env", "# comment\nA=1\nSHARED=file\nQUOTED=\"two words\"\nHOME_IS=${PSTEST_HOME_IS:-unset}\n")
    host.write("two.env", "A=2\n")
    res = host.pystack("-f", f, "run", "--rm", "-T", "--env-from-file", "one.env", "--env-from-file", "two.env",
                       "-e", "B=3", "app", "env")
    env = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    assert env["A"] == "2" and env["B"] == "3" and env["QUOTED"] == "two words" and env["HOME_IS"] == "unset"
    assert env["SHARED"] == "file" and env["FROM_SERVICE"] == "kept"
    res = host.pystack("-f", f, "run", "--rm", "-T", "--env-from-file", "one.env", "-e", "A=cli", "app",
                       "sh", "-c", "echo $A")
    assert res.stdout == "cli\n"

    host.write("bad.env", "GOOD=1\nnot a line\n")
    for name, words in [("bad.env", "bad.env:2"), ("missing.env", "missing.env")]:
        res = host.pystack("-f", f, "run", "--rm", "-T", "--env-from-file", name, "app", "true", check=False)
        assert res.returncode != 0 and words in res.stderr and "Traceback" not in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout) == []


def test_a_foreground_run_forks_its_monitor_itself_and_starts_no_zygote(host: Host) -> None:
    """The container of ``run`` without ``-d`` lives as long as the command: a zygote (an interpreter
    booted to share pages between many monitors) would only delay it. ``run -d`` still uses one."""
    from orchestrator.paths import Paths

    f = str(host.write("compose.yaml", """
name: e2erunfg
services:
  one:
    image: busybox:latest
    network_mode: none
"""))
    state = Paths(host.root).runtime_state
    out = host.pystack("-f", f, "run", "--rm", "-T", "one", "echo", "fg-ok").stdout
    assert out == "fg-ok\n"
    assert not list(state.glob("zygote-*.sock"))  # one that had served a monitor stays 1 s idle
    host.pystack("-f", f, "run", "-d", "one", "sleep", "30")
    assert list(state.glob("zygote-*.sock"))
    host.pystack("-f", f, "down", "-t", "0")


def test_run_is_read_without_click_and_keeps_its_output_and_status(host: Host) -> None:
    """``run --rm`` and ``run -d`` go through ``run_argv``: click stays unloaded, the container's
    output and exit status are the command's, and a detached one prints its name."""
    f = str(host.write("compose.yaml", """
name: e2erunfast
services:
  one:
    image: busybox:latest
"""))
    probe = ("import sys; from orchestrator.cli.run_argv import try_run; code = try_run(sys.argv[1:]); "
             "print(code, 'click' in sys.modules, file=sys.stderr)")

    def fast(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-c", probe,
                               "-f", f, *args], cwd=host.workdir, env=host.env(), capture_output=True, text=True,
                              timeout=120)

    ran = fast("run", "--rm", "-T", "-e", "WHO=fast", "one", "sh", "-c", "echo $WHO; exit 5")
    assert (ran.stdout, ran.stderr.split()[-2:]) == ("fast\n", ["5", "False"]), ran.stderr
    detached = fast("run", "-d", "--name", "e2erunfast-bg", "one", "sleep", "30")
    assert (detached.stdout, detached.stderr.split()[-2:]) == ("e2erunfast-bg\n", ["0", "False"]), detached.stderr
    ps = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert [(r["Name"], r["State"]) for r in ps] == [("e2erunfast-bg", "running")]
    missing = fast("run", "--rm", "nosuch")
    lines = missing.stderr.splitlines()  # one line naming the service, then the probe's
    assert len(lines) == 2 and "nosuch" in lines[0] and lines[1] == "1 False", missing.stderr
    host.pystack("-f", f, "down", "-t", "0")


def test_a_foreground_run_passes_the_signals_it_is_sent_to_its_container(host: Host) -> None:
    """As ``docker run``'s --sig-proxy: a SIGTERM to the command reaches PID 1, whose exit code the
    command then returns, and ``--rm`` still removes the container. Before, the command died alone
    and left its container running."""
    f = str(host.write("compose.yaml", """
name: e2esigproxy
services:
  one:
    image: busybox:latest
    network_mode: none
"""))
    script = 'trap "echo got-TERM; exit 3" TERM; echo ready; while :; do sleep 0.05; done'
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f,
           "run", "--rm", "-T", "one", "sh", "-c", script]
    with subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
            proc.terminate()
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 3
    assert out == "got-TERM\n"
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert rows == []
    host.pystack("-f", f, "down", "-t", "0")


def test_a_killed_foreground_run_leaves_its_container_to_finish_and_ps_shows_how_it_ended(host: Host) -> None:
    """SIGKILL cannot be passed on: the container runs on without its command (whose monitor goes
    lean, see tests/integration/runtime/test_lean_monitor.py). ``ps`` then reads how it ended from
    the runtime, since no command is left to write it down."""
    f = str(host.write("compose.yaml", """
name: e2erunkilled
services:
  one:
    image: busybox:latest
    network_mode: none
    volumes: ["./flag:/flag"]
"""))
    host.write("flag/.keep", "")
    script = "echo ready; while [ ! -e /flag/go ]; do sleep 0.05; done; exit 6"
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f,
           "run", "-T", "one", "sh", "-c", script]
    with subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.kill()
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert [r["State"] for r in rows] == ["running"]
    host.write("flag/go", "")
    deadline = time.monotonic() + 20
    while rows[0]["State"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert (rows[0]["State"], rows[0]["ExitCode"]) == ("exited", 6)
    assert rows[0]["Status"].startswith("Exited (6) ") and rows[0]["Status"].endswith(" ago")
    host.pystack("-f", f, "down", "-t", "0")
    assert json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout) == []


def test_a_killed_foreground_run_rm_still_removes_its_container_once_it_ends(host: Host) -> None:
    """As Docker's daemon removes a ``--rm`` container whose client was killed: here the container's
    monitor, which outlives the command, has the removal done once PID 1 has exited (not before),
    network, anonymous volume and all."""
    f = str(host.write("compose.yaml", """
name: e2erunrmkilled
services:
  one:
    image: busybox:latest
    volumes: ["./flag:/flag", "/scratch"]
  other:
    image: busybox:latest
    command: ["sleep", "1000"]
"""))
    host.write("flag/.keep", "")
    host.pystack("-f", f, "up", "-d", "other")  # a stack that stays up: only the one-off goes
    script = "echo ready; while [ ! -e /flag/go ]; do sleep 0.05; done; exit 6"
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f,
           "run", "--rm", "-T", "one", "sh", "-c", script]
    with subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.kill()

    def one_offs() -> list[dict[str, object]]:
        rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
        return [r for r in rows if r["Service"] == "one"]

    [row] = one_offs()
    assert row["State"] == "running"  # it goes on without its command, as before
    volumes_before = set(os.listdir(host.root / "volumes"))
    host.write("flag/go", "")
    deadline = time.monotonic() + 30
    while one_offs() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert one_offs() == []
    assert set(os.listdir(host.root / "volumes")) < volumes_before  # its anonymous volume went with it
    with open("/proc/self/mountinfo") as fh:
        assert str(row["ID"]) not in fh.read()
    assert [r["State"] for r in json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)] == ["running"]
    host.pystack("-f", f, "down", "-t", "0")


def test_a_run_rm_killed_after_its_container_ended_still_has_it_removed(host: Host) -> None:
    """The command killed after PID 1's exit but before it had removed the container (here: stopped
    while PID 1 runs, so that it cannot act on the exit, then killed once the exit is recorded):
    the watcher the monitor left waiting on the command has the removal done."""
    f = str(host.write("compose.yaml", """
name: e2erunrmlate
services:
  one:
    image: busybox:latest
    volumes: ["./flag:/flag"]
"""))
    host.write("flag/.keep", "")
    script = "echo ready; while [ ! -e /flag/go ]; do sleep 0.05; done; exit 6"
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f,
           "run", "--rm", "-T", "one", "sh", "-c", script]

    def one_offs() -> list[dict[str, object]]:
        rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
        return [r for r in rows if r["Service"] == "one"]

    with subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
            [row] = one_offs()
            os.kill(proc.pid, signal.SIGSTOP)
            host.write("flag/go", "")
            exit_file = Paths(host.root).runtime_state / str(row["ID"]) / "exit.json"
            deadline = time.monotonic() + 30
            while not exit_file.exists():
                assert time.monotonic() < deadline, "PID 1 never ended"
                time.sleep(0.05)
            time.sleep(0.3)  # the monitor has recorded the exit and left its watcher
            assert [r["ID"] for r in one_offs()] == [row["ID"]]  # nothing removed it yet
        finally:
            proc.kill()
    deadline = time.monotonic() + 30
    while one_offs() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert one_offs() == []
    with open("/proc/self/mountinfo") as fh:
        assert str(row["ID"]) not in fh.read()
    host.pystack("-f", f, "down", "-t", "0")


def test_run_feeds_its_standard_input_to_the_container(host: Host) -> None:
    """As Compose's ``run`` (interactive by default): ``run -T db psql < dump.sql`` and pipes work;
    ``--no-interactive`` leaves the container's stdin empty."""
    f = str(host.write("compose.yaml", """
name: e2estdin
services:
  one:
    image: busybox:latest
"""))
    res = host.pystack("-f", f, "run", "--rm", "-T", "one", "sh", "-c", 'read a; read b; echo "$b-$a"; exit 4',
                       input="first\nsecond\n", check=False)
    assert (res.returncode, res.stdout) == (4, "second-first\n")
    res = host.pystack("-f", f, "run", "--rm", "--no-interactive", "one", "wc", "-c", input="not read\n")
    assert res.stdout.strip() == "0"
    host.pystack("-f", f, "down", "-t", "0")


def test_run_on_a_terminal_gives_the_container_a_pty(host: Host) -> None:
    """``docker compose run app sh`` on a terminal: a prompt, keys typed reach the shell, the exit
    code comes back and --rm still removes the container."""
    import pty
    import select

    f = str(host.write("compose.yaml", """
name: e2etty
services:
  one:
    image: busybox:latest
"""))
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f,
           "run", "--rm", "one", "sh"]
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child execs at once
        os.chdir(host.workdir)
        os.execvpe(cmd[0], cmd, host.env())
    out = b""

    def read_until(needle: bytes, seconds: float) -> bool:
        nonlocal out
        end = time.monotonic() + seconds
        while needle not in out and time.monotonic() < end:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return needle in out
                if not chunk:
                    break
                out += chunk
        return needle in out

    try:
        assert read_until(b"# ", 60), out  # the shell's prompt: it has a terminal
        os.write(fd, b"test -t 0 && echo on-a-tty; echo $((6*7)); exit 5\r")
        assert read_until(b"42", 30), out
        read_until(b"\0", 5)  # the rest, until the command is gone
    finally:
        status = _reap_or_kill(pid, 10)
        os.close(fd)
    assert b"on-a-tty" in out
    assert os.waitstatus_to_exitcode(status) == 5
    assert json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout) == []
    host.pystack("-f", f, "down", "-t", "0")


def _reap_or_kill(pid: int, seconds: float) -> int:
    """The child's wait status; a child still running after ``seconds`` (a shell that never got
    its keys) is killed, so that a failing test ends and its fixture takes the stack down."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, 9)
    return os.waitpid(pid, 0)[1]


def test_a_detached_run_rm_is_removed_when_it_ends(host: Host) -> None:
    """``run -d --rm``: the container runs in the background and is gone once it exits, as with
    Docker's AutoRemove, whether it ends by itself or is killed; its anonymous volume goes with it.
    A plain ``run -d`` stays."""
    f = str(host.write("compose.yaml", """
name: e2erunrm
services:
  job:
    image: busybox:latest
    command: ["sleep", "1000"]
    network_mode: none
    volumes: ["/scratch"]
"""))

    def rows() -> dict[str, str]:
        out = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
        return {str(r["Name"]): str(r["ID"]) for r in out}

    def wait_gone(name: str) -> None:
        deadline = time.monotonic() + 20
        while name in rows():
            assert time.monotonic() < deadline, f"{name} is still there"
            time.sleep(0.2)

    slow = host.pystack("-f", f, "run", "-d", "--rm", "job").stdout.strip()
    kept = host.pystack("-f", f, "run", "-d", "job", "true").stdout.strip()
    quick = host.pystack("-f", f, "run", "-d", "--rm", "job", "sleep", "0.5").stdout.strip()
    assert slow in rows() and kept in rows()
    wait_gone(quick)
    host.pystack("runtime", "kill", rows()[slow], "KILL")
    wait_gone(slow)
    time.sleep(0.5)
    assert kept in rows()  # exited, and kept: it had no --rm
    volumes = sorted(p.name for p in (host.root / "volumes").iterdir())
    assert len(volumes) == 1, volumes  # the kept container's own; --rm deleted the others'
