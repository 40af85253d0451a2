"""``delete`` undoes a create whose caller was killed before it wrote ``state.json``.

The cgroup is made before the init is forked into it, so such a kill used to leave the cgroup on
the host for good: ``delete`` (and so ``down``) found no state and gave up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.cgroups import open_cgroup
from orchestrator.errors import RuntimeFailure
from orchestrator.isolated import CODE_ROOT
from orchestrator.paths import Paths
from orchestrator.runtime.engine import PystackRuntime
from orchestrator.runtime.store import start_time
from tests.integration.runtime.conftest import BundleFactory

pytestmark = pytest.mark.root

KILLED_AFTER_FORK = """import os, sys
sys.path.insert(0, {code!r})
from pathlib import Path
from orchestrator.paths import Paths
from orchestrator.runtime import monitor_plan
from orchestrator.runtime.engine import PystackRuntime
real = monitor_plan.read_report
def report_then_die(*args, **kwargs):
    real(*args, **kwargs)  # the monitor has forked the init into the container's cgroup
    os._exit(9)  # and the caller dies before its "go" and before state.json
monitor_plan.read_report = report_then_die
PystackRuntime(Paths(Path({root!r})), use_zygote=False).create({cid!r}, Path({bundle!r}))
"""


def test_delete_undoes_a_create_whose_caller_was_killed(pystack_root: Path, make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["sleep", "30"])
    code = KILLED_AFTER_FORK.format(code=CODE_ROOT, root=str(pystack_root), cid=cid, bundle=str(bundle))
    res = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 9, res.stderr
    rt = PystackRuntime(Paths(pystack_root))
    cg = open_cgroup(f"pystack/{cid}")
    assert cg.exists()  # what such a kill leaves on the host
    with pytest.raises(RuntimeFailure, match="does not exist"):
        rt.state(cid)  # never a container
    rt.delete(cid)
    assert not cg.exists()
    assert not (rt.base / cid).exists()
    with pytest.raises(RuntimeFailure, match="does not exist"):
        rt.delete(cid)


def test_delete_leaves_a_create_that_is_still_under_way(pystack_root: Path) -> None:
    rt = PystackRuntime(Paths(pystack_root))
    cdir = rt.base / "rt-underway"
    cdir.mkdir(parents=True)
    me = os.getpid()
    (cdir / "create.json").write_text(json.dumps({"pid": me, "pid_start": start_time(me),
                                                  "cgroups_path": "pystack/rt-underway"}))
    with pytest.raises(RuntimeFailure, match="is being created"):
        rt.delete("rt-underway")
    assert cdir.is_dir()
    (cdir / "create.json").unlink()
    rt.delete("rt-underway")  # no note: made before anything of the kernel's
    assert not cdir.exists()


def test_a_monitor_forked_by_the_caller_keeps_none_of_the_caller_s_descriptors(
        pystack_root: Path, make_bundle: BundleFactory) -> None:
    """Without a zygote the caller forks the monitor itself: it must not keep the caller's files
    (the go pipe's write end, which kept an orphaned init waiting for ever; databases; locks)."""
    cid, bundle = make_bundle(["sleep", "30"])
    rt = PystackRuntime(Paths(pystack_root), use_zygote=False)
    r, w = os.pipe()
    try:
        rt.create(cid, bundle)
        try:
            mpid = json.loads((rt.base / cid / "state.json").read_text())["monitor_pid"]
            ours = {os.readlink(f"/proc/self/fd/{fd}") for fd in (r, w)}
            theirs = {os.readlink(f"/proc/{mpid}/fd/{fd}") for fd in os.listdir(f"/proc/{mpid}/fd")}
            assert not ours & theirs
        finally:
            rt.delete(cid, force=True)
    finally:
        os.close(r)
        os.close(w)
