"""Known container escapes against pystack's runtime, one reproduction each.

- CVE-2021-30465 class: a mount destination that is a symlink out of the root.
- CVE-2024-21626: an engine fd (here: a host directory fd left inheritable by the caller) reached
  through ``cwd: /proc/self/fd/N``, for the init and for exec.
- CVE-2019-14271 class: the engine importing code from the container's filesystem.
- CVE-2019-5736: the container rewriting the host binary through ``/proc/<pid>/exe`` of a process
  that enters it (exec), even with CAP_SYS_PTRACE.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.errors import RuntimeFailure
from orchestrator.runtime.engine import PystackRuntime
from tests.integration.runtime.conftest import BundleFactory, bundle_factory, run_logged, runtime_over

pytestmark = pytest.mark.root


@pytest.fixture
def rt(pystack_root: Path) -> Iterator[PystackRuntime]:
    yield from runtime_over(pystack_root)


@pytest.fixture
def make_bundle(tmp_path: Path, busybox_rootfs: Path) -> BundleFactory:
    return bundle_factory(tmp_path, busybox_rootfs)


def test_symlinked_mount_destination_stays_inside_root(rt: PystackRuntime, make_bundle: BundleFactory,
                                                        tmp_path: Path) -> None:
    host_dir = tmp_path / "host-side"
    host_dir.mkdir()
    (host_dir / "secret").write_text("host secret")
    src = tmp_path / "vol"
    src.mkdir()
    (src / "payload").write_text("from volume\n")
    cid, bundle = make_bundle(
        ["sh", "-c", "cat /abs/x/payload; cat /rel/y/payload; ls /abs"],
        mounts=[
            {"destination": "/abs/x", "type": "bind", "source": str(src), "options": ["rbind", "ro"]},
            {"destination": "/rel/y", "type": "bind", "source": str(src), "options": ["rbind", "ro"]},
            {"destination": "/abs/t", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
        ],
    )
    root = bundle / "rootfs"
    (root / "abs").symlink_to(str(host_dir))  # absolute: outside the root if followed on the host
    (root / "rel").symlink_to("../../../../../../../../.." + str(host_dir))
    before = sorted(os.listdir(host_dir))
    code, out, err = run_logged(rt, cid, bundle)
    assert code == 0, err
    assert out.splitlines()[:2] == ["from volume", "from volume"]
    assert "secret" not in out  # /abs is the in-root directory, not the host's
    assert sorted(os.listdir(host_dir)) == before  # nothing was created or mounted on the host side
    inside = root / str(host_dir).lstrip("/")
    assert (inside / "x").is_dir() and (inside / "y").is_dir() and (inside / "t").is_dir()


def test_cwd_through_leaked_fd_never_reaches_the_host(rt: PystackRuntime,
                                                        make_bundle: BundleFactory) -> None:
    leaked = os.open("/", os.O_RDONLY | os.O_DIRECTORY)  # inheritable, as a careless caller might hold
    os.set_inheritable(leaked, True)
    try:
        for n in range(3, 12):
            cid, bundle = make_bundle(["sh", "-c", "pwd; ls /proc/self/fd | tr '\\n' ,"], cwd=f"/proc/self/fd/{n}")
            try:
                code, out, _ = run_logged(rt, cid, bundle)
            except RuntimeFailure as exc:
                assert "cwd" in str(exc)
                continue
            assert not out.startswith("(unreachable)"), out  # pragma: no cover - would be the escape
            assert code != 0 or "/proc/self/fd" in out  # pragma: no cover
        cid, bundle = make_bundle(["sh", "-c", "ls /proc/self/fd | tr '\\n' ,"])
        code, out, err = run_logged(rt, cid, bundle)
        assert code == 0, err
        assert out == "0,1,2,3,"  # the caller's inheritable fd did not come in
        cid, bundle = make_bundle(["sleep", "30"])
        rt.create(cid, bundle)
        rt.start(cid)
        try:
            for n in range(3, 12):
                with pytest.raises(RuntimeFailure, match="cwd"):
                    rt.exec(cid, {"args": ["pwd"], "cwd": f"/proc/self/fd/{n}"})
        finally:
            rt.delete(cid, force=True)
    finally:
        os.close(leaked)


def test_engine_loads_nothing_from_the_container(rt: PystackRuntime,
                                                  make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["sleep", "30"])
    root = bundle / "rootfs"
    trap = "open('/PWNED-' + __name__, 'w').close()\n"
    planted = []
    for d in {Path(p) for p in sys.path if p.startswith("/")}:
        target = root / str(d).lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        for mod in ("sitecustomize", "json", "fcntl", "termios", "errno", "pyseccomp", "encodings", "signal",
                    "dataclasses", "resource", "posixpath", "ctypes", "orchestrator"):
            (target / f"{mod}.py").write_text(trap)
            planted.append(target / f"{mod}.py")
    rt.create(cid, bundle)
    rt.start(cid)
    try:
        with tempfile.TemporaryFile() as out:
            assert rt.exec(cid, {"args": ["sh", "-c", "echo ok"]}, stdout=out) == 0
    finally:
        rt.delete(cid, force=True)
    assert planted
    assert not list(root.glob("PWNED-*"))


def test_block_imports_refuses_new_modules() -> None:
    pid = os.fork()
    if pid == 0:
        from orchestrator.runtime.init import block_imports

        block_imports()
        try:
            import antigravity  # noqa: F401
        except ImportError:
            os._exit(0)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


@pytest.mark.parametrize("ptrace", [False, True], ids=["default-caps", "with-CAP_SYS_PTRACE"])
def test_container_cannot_rewrite_host_binary_via_proc_exe(rt: PystackRuntime,
                                                            make_bundle: BundleFactory, ptrace: bool) -> None:
    exe = Path(os.path.realpath(sys.executable))
    digest = hashlib.sha256(exe.read_bytes()).hexdigest()
    attack = (
        "end=$(( $(date +%s) + 4 )); "
        "while [ $(date +%s) -lt $end ]; do for p in /proc/[0-9]*; do "
        "[ \"$p\" = /proc/1 ] && continue; [ \"$p\" = /proc/$$ ] && continue; "
        "if (printf x >> $p/exe) 2>/dev/null; then echo WROTE $p $(readlink $p/exe); fi; "
        "done; done; echo attack-over"
    )
    cid, bundle = make_bundle(["sh", "-c", attack], cap_add=["SYS_PTRACE"] if ptrace else [])
    log = bundle / "log.json"
    rt.create(cid, bundle, log_path=log)
    rt.start(cid)
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            with tempfile.TemporaryFile() as out:
                rt.exec(cid, {"args": ["true"]}, stdout=out, stderr=out)
        st = rt.wait(cid, 15)
        assert st is not None
    finally:
        rt.delete(cid, force=True)
    lines = [json.loads(x)["log"] for x in log.read_text().splitlines()]
    assert "attack-over\n" in lines
    assert not [x for x in lines if x.startswith("WROTE") and "busybox" not in x]
    assert hashlib.sha256(exe.read_bytes()).hexdigest() == digest
