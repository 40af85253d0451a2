"""A monitor forked by its caller re-executes lean when that caller dies while PID 1 still runs.

Forked from the command that created the container (a foreground ``run``, the runtime's ``run``,
no zygote), the monitor is a copy of that command: once the command is gone, all of its pages are
the monitor's own. The monitor then execs :mod:`orchestrator.runtime.lean_monitor`, and must go on
doing its whole job: relay the output, reap PID 1, record its exit.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.errors import RuntimeFailure
from orchestrator.isolated import CODE_ROOT
from orchestrator.paths import Paths
from orchestrator.runtime.api import get_runtime
from orchestrator.runtime.store import start_time
from tests.integration.runtime.conftest import BundleFactory

pytestmark = pytest.mark.root

CREATE_START_DIE = """import os, signal, sys
sys.path.insert(0, {code!r})
from pathlib import Path
from orchestrator.paths import Paths
from orchestrator.runtime.api import get_runtime
import sqlite3  # something the caller holds and a lean monitor never loads
rt = get_runtime({runtime!r}, Paths(Path({root!r})))
if hasattr(rt, "use_zygote"):
    rt.use_zygote = False
rt.create({cid!r}, Path({bundle!r}), log_path=Path({log!r}))
rt.start({cid!r})
os.kill(os.getpid(), signal.SIGKILL)
"""

# PID 1 writes a partial line, then waits for the test's go-ahead (a file in its root) to finish
SCRIPT = "echo one; printf par; while [ ! -e /go ]; do sleep 0.05; done; echo tial; echo err >&2; exit 5"


def _until(check: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(check) or not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.parametrize("runtime", ["pystack", "crun", "runc"])
def test_the_monitor_of_a_killed_caller_goes_lean_and_still_records_the_exit(
        runtime: str, pystack_root: Path, make_bundle: BundleFactory) -> None:
    """pystack's own monitor without the zygote, and the one every container of crun or runc has."""
    if runtime != "pystack" and shutil.which(runtime) is None:
        pytest.skip(f"{runtime} not installed")
    cid, bundle = make_bundle(["sh", "-c", SCRIPT])
    log = bundle / "log.json"
    code = CREATE_START_DIE.format(code=CODE_ROOT, runtime=runtime, root=str(pystack_root), cid=cid,
                                   bundle=str(bundle), log=str(log))
    res = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == -9, res.stderr
    rt = get_runtime(runtime, Paths(pystack_root))
    try:
        base: Path = rt.base  # type: ignore[attr-defined]  # both runtimes keep their state there
        state = json.loads((base / cid / "state.json").read_text())
        mpid, pid = state["monitor_pid"], state["pid"]
        _until(lambda: "orchestrator.runtime.lean_monitor" in _cmdline(mpid), "the monitor to re-exec")
        # the same process (the state file's pid and start time still name it), still PID 1's parent
        assert start_time(mpid) == state["monitor_start"]
        assert Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(mpid)
        assert rt.state(cid).status == "running"
        # the caller's memory is gone: its SQLite and ctypes libraries are no longer mapped
        maps = _mapped(mpid)
        assert "_sqlite3" not in maps and "_ctypes" not in maps
        # the partial line was written before the exec rather than lost in it
        _until(lambda: "par" in log.read_text(), "the partial line in the log")

        (bundle / "rootfs" / "go").write_text("")
        st = rt.wait(cid, 20)  # the lean monitor has left, having written exit.json
        assert st is not None and (st.code, st.signal, st.oom_killed) == (5, None, False)
        assert rt.state(cid).status == "stopped"
        lines = [json.loads(x) for x in log.read_text().splitlines()]
        assert [(r["stream"], r["log"]) for r in lines] == [
            ("stdout", "one\n"), ("stdout", "par"), ("stdout", "tial\n"), ("stderr", "err\n")]
    finally:
        rt.delete(cid, force=True)
    assert not (base / cid).exists()


CREATE_WITH_EXIT_COMMAND = """import os, signal, sys
sys.path.insert(0, {code!r})
from pathlib import Path
from orchestrator.paths import Paths
from orchestrator.runtime.api import get_runtime
rt = get_runtime({runtime!r}, Paths(Path({root!r})))
if hasattr(rt, "use_zygote"):
    rt.use_zygote = False
rt.create({cid!r}, Path({bundle!r}), log_path=Path({log!r}), orphan_exit_command={command!r})
rt.start({cid!r})
if {die!r} == "before":
    os.kill(os.getpid(), signal.SIGKILL)
st = rt.wait({cid!r}, 20)
print(st.code if st else "none", flush=True)
if {die!r} == "after":  # it had the exit, but is gone before it acted on it
    os.kill(os.getpid(), signal.SIGKILL)
rt.delete({cid!r})
"""


@pytest.mark.parametrize("runtime", ["pystack", "crun", "runc"])
def test_the_orphan_exit_command_runs_after_the_exit_only_when_the_caller_died(
        runtime: str, pystack_root: Path, make_bundle: BundleFactory, tmp_path: Path) -> None:
    """conmon's --exit-command, for the one case where nobody else is left to act on the exit: run
    once PID 1's exit is recorded (not before), when the caller died before PID 1 or after it but
    before it had deleted the container; never when the caller deleted it."""
    if runtime != "pystack" and shutil.which(runtime) is None:
        pytest.skip(f"{runtime} not installed")
    rt = get_runtime(runtime, Paths(pystack_root))
    base: Path = rt.base  # type: ignore[attr-defined]
    for die in ("never", "before", "after"):
        cid, bundle = make_bundle(["sh", "-c", "while [ ! -e /go ]; do sleep 0.05; done; exit 3"])
        mark = tmp_path / f"ran-{die}"
        # what it writes: that the exit was on record when it ran
        command = ["/bin/sh", "-c", f"cat {base / cid / 'exit.json'} > {mark}.tmp && mv {mark}.tmp {mark}"]
        code = CREATE_WITH_EXIT_COMMAND.format(code=CODE_ROOT, runtime=runtime, root=str(pystack_root), cid=cid,
                                               bundle=str(bundle), log=str(bundle / "log.json"),
                                               command=command, die=die)
        proc = subprocess.Popen([sys.executable, "-I", "-c", code], stdout=subprocess.PIPE, text=True)
        try:
            if die == "before":
                assert proc.wait(timeout=60) == -9
                mpid = json.loads((base / cid / "state.json").read_text())["monitor_pid"]
                _until(lambda m=mpid: "orchestrator.runtime.lean_monitor" in _cmdline(m), "the monitor to re-exec")
                assert not mark.exists()  # PID 1 still runs
            (bundle / "rootfs" / "go").write_text("")
            out, _ = proc.communicate(timeout=60)
            if die == "before":
                _until(mark.exists, "the exit command")
            else:
                assert out.strip() == "3"
                assert proc.returncode == (-9 if die == "after" else 0)
            if die == "after":
                _until(mark.exists, "the exit command")
            if die == "never":
                time.sleep(0.5)  # the caller has left: a command started on its exit would be done
                assert not mark.exists()
            else:
                assert json.loads(mark.read_text())["code"] == 3
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            with contextlib.suppress(RuntimeFailure):
                rt.delete(cid, force=True)
