"""exec into a running container: its namespaces, cgroup, capabilities, user, cwd and env."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.errors import RuntimeFailure
from orchestrator.runtime.engine import PystackRuntime
from tests.integration.runtime.conftest import BundleFactory

pytestmark = pytest.mark.root


@pytest.fixture
def running(rt: PystackRuntime, make_bundle: BundleFactory) -> Iterator[str]:
    cid, bundle = make_bundle(["sleep", "60"], hostname="exec-box", env={"FROMCFG": "1"})
    (bundle / "rootfs").chmod(0o755)
    rt.create(cid, bundle)
    rt.start(cid)
    try:
        yield cid
    finally:
        rt.delete(cid, force=True)


def capture(rt: PystackRuntime, cid: str, proc: dict[str, object]) -> tuple[int, str]:
    with tempfile.TemporaryFile() as out:
        rc = rt.exec(cid, proc, stdout=out, stderr=out)
        out.seek(0)
        return rc, out.read().decode()


def test_exec_joins_the_container(rt: PystackRuntime, running: str) -> None:
    script = ("hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $FROMCFG; "
              "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\\t'; ls /proc/self/fd | tr '\\n' ,")
    rc, out = capture(rt, running, {"args": ["sh", "-c", script]})
    assert rc == 0, out
    lines = out.splitlines()
    assert lines[0] == "exec-box"
    assert lines[1].strip() == "sleep 60"
    assert lines[2] == "1"
    assert lines[3:6] == ["CapEff:00000000a80425fb", "NoNewPrivs:1", "Seccomp:2"]
    assert lines[6] == "0,1,2,3,"
    pid1 = rt.state(running).pid
    assert Path(f"/proc/{pid1}/cgroup").read_text() != Path("/proc/self/cgroup").read_text()


def test_exec_in_the_same_cgroup(rt: PystackRuntime, running: str) -> None:
    pid1 = rt.state(running).pid
    rc, out = capture(rt, running, {"args": ["cat", "/proc/self/cgroup"]})
    assert rc == 0
    host_view = Path(f"/proc/{pid1}/cgroup").read_text().splitlines()
    want = {line.split(":", 2)[1]: line.split(":", 2)[2] for line in host_view}
    # inside its cgroup namespace the container's own cgroup is the root
    got = {line.split(":", 2)[1]: line.split(":", 2)[2] for line in out.splitlines()}
    assert got.get("pids") == "/" and want.get("pids", "").endswith(running)


def test_exec_user_cwd_env_and_exit_code(rt: PystackRuntime, running: str) -> None:
    proc = {"args": ["sh", "-c", "id -u; id -g; pwd; echo $X; exit 9"], "user": {"uid": 1000, "gid": 1000},
            "cwd": "/tmp", "env": ["X=y", "PATH=/bin"]}
    rc, out = capture(rt, running, proc)
    assert rc == 9
    assert out.split() == ["1000", "1000", "/tmp", "y"]


def test_exec_errors(rt: PystackRuntime, running: str) -> None:
    with pytest.raises(RuntimeFailure, match="nope: not found"):
        rt.exec(running, {"args": ["nope"]})
    with pytest.raises(RuntimeFailure, match="cwd"):
        rt.exec(running, {"args": ["true"], "cwd": "/missing"})
    with pytest.raises(RuntimeFailure, match="does not exist"):
        rt.exec("rt-notthere", {"args": ["true"]})


def test_exec_detach_returns_a_pid(rt: PystackRuntime, running: str) -> None:
    pid = rt.exec(running, {"args": ["sleep", "30"]}, detach=True)
    assert pid > 0
    assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] == b"sleep"
    assert pid in rt.ps(running)


def _joiner_of(cmdline: bytes) -> int | None:
    """The process that waits for the exec'd one: the parent of the process running ``cmdline``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cmdline").read_bytes() == cmdline:
                return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return None


def test_exec_joiner_keeps_none_of_the_callers_fds(rt: PystackRuntime, running: str, tmp_path: Path) -> None:
    """A lock the caller holds (the stack's) must not stay held by the joiner while the exec runs."""
    import threading
    import time

    marker = tmp_path / "lockfile"
    fd = os.open(marker, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC)
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(rt.exec(running, {"args": ["sleep", "3.25"]})))
    try:
        worker.start()
        joiner = None
        for _ in range(200):
            joiner = _joiner_of(b"sleep\x003.25\x00")
            if joiner is not None:
                break
            time.sleep(0.01)
        assert joiner is not None and joiner != os.getpid()
        targets = []
        for link in Path(f"/proc/{joiner}/fd").iterdir():
            try:
                targets.append(os.readlink(link))
            except OSError:
                continue
        assert str(marker) not in targets
        assert len([n for n in os.listdir(f"/proc/{joiner}/fd") if int(n) > 2]) <= 1  # its error pipe
    finally:
        worker.join(30)
        os.close(fd)
    assert result == [0]


def test_cli_exec_with_user_name(rt: PystackRuntime, running: str, pystack_root: Path) -> None:
    env = {**os.environ, "PYSTACK_ROOT": str(pystack_root)}
    res = subprocess.run(["pystack", "runtime", "exec", "-u", "app", "-e", "K=v", "-w", "/tmp", running, "--",
                          "sh", "-c", "id -u; echo $K; pwd; echo $FROMCFG"], capture_output=True, text=True,
                         env=env, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["1000", "v", "/tmp", "1"]


def test_exec_with_a_terminal_gets_a_pty_of_the_container(rt: PystackRuntime, running: str,
                                                          pystack_root: Path) -> None:
    """``exec -t`` from a terminal: the pty lives in the container's devpts (so ``tty`` names a
    device that exists there), it has the caller's window size, and keys reach it raw."""
    import shlex
    import sys

    script = "tty; stty size; [ -t 0 ] && echo stdin-is-a-tty; ls /dev/pts; read -r line; echo got:$line"
    inner = shlex.join([sys.executable, "-m", "orchestrator", "--root", str(pystack_root), "runtime", "exec", "-t",
                        running, "--", "sh", "-c", script])
    # util-linux script gives the CLI a terminal; stty sets its size; the input line is typed.
    res = subprocess.run(["script", "-qec", f"stty rows 33 cols 101; {inner}", "/dev/null"],
                         input="hello\n", capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [line.strip() for line in res.stdout.replace("\r", "").splitlines() if line.strip()]
    assert "/dev/pts/0" in lines  # the container's own devpts instance: its first pty
    assert "33 101" in lines and "stdin-is-a-tty" in lines
    assert "got:hello" in lines
