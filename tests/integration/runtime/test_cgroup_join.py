"""The init enters its cgroups by itself: born in its cgroup2 cgroup, then ``0`` in each v1 ``tasks``.

Checked on this host's real hierarchies: every one the driver manages lists the container's
cgroup for its PID 1, with the monitor forked by the zygote or by the caller, and also when the
kernel refuses ``clone3`` (the init then writes to ``cgroup.procs`` itself). ``fork_into_cgroup``
is checked on its own on the host's real cgroup2 mount (``/sys/fs/cgroup/unified`` here).
"""

from __future__ import annotations

import errno
import json
import os
import uuid
from pathlib import Path

import pytest

from orchestrator.cgroups import open_cgroup
from orchestrator.cgroups.mode import V1_CONTROLLERS, layout
from orchestrator.runtime import kernel
from orchestrator.runtime.engine import PystackRuntime
from tests.integration.runtime.conftest import BundleFactory, runtime_over

pytestmark = pytest.mark.root


def _managed_lines(pid: int) -> dict[str, str]:
    """hierarchy (its controllers, or "" for cgroup2) → path, for the hierarchies pystack manages."""
    found = layout()
    out = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if (ctrls == "" and found.unified is not None) or set(ctrls.split(",")) & set(V1_CONTROLLERS):
            out[ctrls] = path
    return out


def _pid1_cgroups(rt: PystackRuntime, make_bundle: BundleFactory) -> tuple[str, dict[str, str]]:
    cid, bundle = make_bundle(["sleep", "30"], resources={"pids": {"limit": 20}})
    rt.create(cid, bundle)
    try:
        pid = rt.state(cid).pid
        assert pid is not None
        return cid, _managed_lines(pid)
    finally:
        rt.delete(cid, force=True)


@pytest.mark.parametrize("use_zygote", [True, False], ids=["zygote", "caller-forked"])
def test_pid_1_is_in_its_cgroup_in_every_hierarchy(pystack_root: Path, make_bundle: BundleFactory,
                                                    use_zygote: bool) -> None:
    for rt in runtime_over(pystack_root):
        rt.use_zygote = use_zygote
        cid, lines = _pid1_cgroups(rt, make_bundle)
    join = open_cgroup(f"pystack/{cid}").self_join()
    assert len([c for c in lines if c]) == len(join.v1_tasks)  # one line per v1 hierarchy
    assert ("" in lines) == (join.v2_dir is not None)
    assert set(lines.values()) == {f"/pystack/{cid}"}, lines


def test_when_the_kernel_refuses_clone3_the_init_joins_by_writing(
        pystack_root: Path, make_bundle: BundleFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if layout().unified is None:
        pytest.skip("no cgroup2 hierarchy on this host: nothing is cloned into a cgroup")
    marker = tmp_path / "refused"

    def refuse(fd: int) -> int:  # runs in the monitor, forked from this process (no zygote)
        marker.write_text(json.dumps({"fd": fd}))
        raise OSError(errno.ENOSYS, "clone3 refused by the test")

    monkeypatch.setattr(kernel, "fork_into_cgroup", refuse)
    for rt in runtime_over(pystack_root):
        rt.use_zygote = False
        cid, lines = _pid1_cgroups(rt, make_bundle)
    assert marker.exists(), "the monitor did not try to clone the init into its cgroup"
    assert set(lines.values()) == {f"/pystack/{cid}"}, lines


def test_fork_into_cgroup_gives_a_child_born_in_the_cgroup_with_a_working_interpreter() -> None:
    root = layout().unified
    if root is None:
        pytest.skip("no cgroup2 hierarchy on this host")
    cg = root / f"pystack-test-clone3-{uuid.uuid4().hex[:8]}"
    cg.mkdir()
    fd = os.open(cg, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    r, w = os.pipe()
    try:
        mine = Path("/proc/self/cgroup").read_text()
        pid = kernel.fork_into_cgroup(fd)
        if pid == 0:  # the child: report where it was born, from a new thread (the interpreter is whole)
            try:
                import threading

                seen: list[str] = []
                t = threading.Thread(target=lambda: seen.append(Path("/proc/self/cgroup").read_text()))
                t.start()
                t.join()
                os.write(w, json.dumps({"pid": os.getpid(), "cgroup": seen[0]}).encode())
            finally:
                os._exit(0)
        os.close(w)
        got = json.loads(os.read(r, 65536))
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert got["pid"] == pid
        v2_line = next(line for line in got["cgroup"].splitlines() if line.startswith("0::"))
        assert v2_line == f"0::/{cg.name}"
        assert Path("/proc/self/cgroup").read_text() == mine  # the parent stays where it was
    finally:
        os.close(fd)
        os.close(r)
        cg.rmdir()


def _children() -> set[int]:
    return {int(p) for t in Path("/proc/self/task").iterdir() for p in (t / "children").read_text().split()}


@pytest.mark.parametrize("target", ["/", None], ids=["not-a-cgroup", "no-fd"])
def test_fork_into_cgroup_refused_raises_and_makes_no_child(target: str | None) -> None:
    fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) if target else -1
    before = _children()
    try:
        with pytest.raises(OSError) as info:
            kernel.fork_into_cgroup(fd)
    finally:
        if fd >= 0:
            os.close(fd)
    assert info.value.errno in (errno.EBADF, errno.ENOSYS)
    assert _children() <= before


def test_preparing_the_clone_in_the_zygote_forks_nothing_and_leaves_the_interpreter_whole() -> None:
    before = _children()
    kernel.prepare_fork_into_cgroup()
    assert _children() <= before
    pid = os.fork()  # the import lock that PyOS_BeforeFork took is released again
    if pid == 0:
        import json as _again  # noqa: F401  (an import in the child needs that lock)

        os._exit(7)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7


def test_preparing_every_monitor_call_in_the_zygote_changes_nothing_of_the_process() -> None:
    """unshare(0), setns of no descriptor and prctl(PR_GET_DUMPABLE) build ctypes' state for the
    calls a monitor makes, and must leave every namespace and the dumpable flag as they were."""
    from tests.fresh import run_fresh

    out = run_fresh("from orchestrator.runtime import kernel\n"
                    "def seen():\n"
                    "    ns = {n: os.readlink('/proc/self/ns/' + n) for n in sorted(os.listdir('/proc/self/ns'))}\n"
                    "    return ns, kernel.prctl(kernel.PR_GET_DUMPABLE), len(os.listdir('/proc/self/task'))\n"
                    "before = seen()\n"
                    "kernel.prepare_monitor_calls()\n"
                    "print(seen() == before, before[1])", imports="os")
    assert out.split() == ["True", "1"]
