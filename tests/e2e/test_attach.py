"""``attach SERVICE`` as Compose's: keys to PID 1's input, its output back, signals proxied,
the container's exit code, and the detach keys that leave it running."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import termios
import time

import pytest

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

STACK = """
name: e2eattach{suffix}
services:
  repl:
    image: busybox:latest
    stdin_open: true
    command: ["sh", "-c", "while read l; do echo got:$$l; [ $$l = quit ] && exit 5; done"]
  ticker:
    image: busybox:latest
    command: ["sh", "-c", "trap 'echo caught-int; exit 7' INT; while true; do echo tick; sleep 0.2; done"]
  shell:
    image: busybox:latest
    stdin_open: true
    tty: true
    command: ["sh"]
    runtime: {runtime}
"""


def _cmd(host: Host, *args: str) -> list[str]:
    return ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", *args]


def _state(host: Host, f: str, service: str) -> str:
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json", service).stdout)
    return str(rows[0]["State"])


def test_attach_relays_input_output_signals_and_exit_codes(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK.format(suffix="", runtime="pystack")))
    host.pystack("-f", f, "up", "-d", "repl", "ticker")

    # stdin_open: what is typed reaches PID 1; the command ends with it, with its exit code
    res = subprocess.run(_cmd(host, "-f", f, "attach", "repl"), input="hello\nquit\n", capture_output=True,
                         text=True, env=host.env(), cwd=host.workdir, timeout=60)
    assert res.returncode == 5, res.stderr
    assert res.stdout.splitlines() == ["got:hello", "got:quit"]
    assert _state(host, f, "repl") == "exited"
    bad = host.pystack("-f", f, "attach", "repl", check=False)
    assert bad.returncode != 0 and "is not running, start it first" in bad.stderr

    # no terminal: the output from now on, and a signal to the command goes to PID 1 (--sig-proxy)
    with subprocess.Popen(_cmd(host, "-f", f, "attach", "ticker"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=host.env(), cwd=host.workdir) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "tick\n"  # attached: ticks arrive
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 7, err
    assert out.splitlines()[-1] == "caught-int"
    assert _state(host, f, "ticker") == "exited"

    bad = host.pystack("-f", f, "attach", "--detach-keys", "ctrl-1", "repl", check=False)
    assert bad.returncode == 2 and "--detach-keys" in bad.stderr and "Traceback" not in bad.stderr
    bad = host.pystack("-f", f, "attach", "nosuch", check=False)
    assert bad.returncode != 0 and "no container 1 of service 'nosuch'" in bad.stderr


@pytest.mark.parametrize("runtime", ["pystack", "crun"])
def test_attach_to_a_terminal_and_detach_leaves_it_running(host: Host, runtime: str) -> None:
    """tty: our terminal goes raw, keys reach the container's shell through its pty (the master
    its monitor holds, whichever runtime made it), and Ctrl-P Ctrl-Q leaves (exit 1, "read escape
    sequence", as Docker's) with the shell still there."""
    f = str(host.write("compose.yaml", STACK.format(suffix=runtime, runtime=runtime)))
    host.pystack("-f", f, "up", "-d", "shell")
    notty = host.pystack("-f", f, "attach", "shell", check=False)  # our stdin is not a terminal
    assert notty.returncode != 0 and "the input device is not a TTY" in notty.stderr

    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(_cmd(host, "-f", f, "attach", "shell"), stdin=slave, stdout=slave, stderr=slave,
                                env=host.env(), cwd=host.workdir, start_new_session=True)
        os.close(slave)
        slave = -1
        try:
            deadline = time.monotonic() + 30
            while termios.tcgetattr(master)[3] & termios.ICANON:  # until attach has made it raw
                assert proc.poll() is None and time.monotonic() < deadline, _drain(master)
                time.sleep(0.02)
            os.write(master, b"echo mark-$((6*7))\r")
            seen = _read_until(master, b"mark-42\r\n", deadline)
            os.write(master, b"\x10\x11")
            seen += _read_until(master, b"read escape sequence", deadline)
            assert proc.wait(timeout=30) == 1, seen
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert _state(host, f, "shell") == "running"
    out = host.pystack("-f", f, "exec", "-T", "shell", "echo", "still-here").stdout
    assert out.strip() == "still-here"


def _read_until(fd: int, want: bytes, deadline: float) -> bytes:
    seen = b""
    while want not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"never saw {want!r} in {seen!r}"
        if select.select([fd], [], [], left)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            assert chunk, f"the terminal closed before {want!r}: {seen!r}"
            seen += chunk
    return seen


def _drain(fd: int) -> bytes:
    out = b""
    while select.select([fd], [], [], 0.1)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out
