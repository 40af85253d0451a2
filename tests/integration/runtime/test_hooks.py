"""OCI lifecycle hooks on the real kernel: each phase at its point, in its namespaces, with the state on stdin."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import PystackError
from orchestrator.runtime.engine import PystackRuntime
from tests.integration.runtime.conftest import BundleFactory

pytestmark = pytest.mark.root

ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PSTEST_HOOK=yes"]


def _recorder(tmp_path: Path) -> tuple[Path, Path]:
    """A host-side hook that appends: phase, its mount and uts namespaces, its env mark, and its stdin."""
    log = tmp_path / "hooks.log"
    script = tmp_path / "record-hook"
    script.write_text(f"""#!/bin/sh
state=$(cat)
printf '%s\\t%s\\t%s\\t%s\\t%s\\n' "$1" "$(readlink /proc/self/ns/mnt)" "$(readlink /proc/self/ns/uts)" \\
  "$PSTEST_HOOK" "$state" >> {log}
""")
    script.chmod(0o755)
    return script, log


def _records(log: Path) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text().splitlines():
        phase, mnt, uts, mark, state = line.split("\t")
        out.append({"phase": phase, "mnt": mnt, "uts": uts, "mark": mark, "state": json.loads(state)})
    return out


def _hook(path: Path | str, phase: str, **kw: Any) -> dict[str, Any]:
    return {"path": str(path), "args": ["record-hook", phase], "env": ENV, **kw}


def test_every_phase_runs_in_order_in_its_namespaces(rt: PystackRuntime, make_bundle: BundleFactory,
                                                     tmp_path: Path) -> None:
    script, log = _recorder(tmp_path)

    def edit(cfg: dict[str, Any]) -> None:
        cfg["hostname"] = "pstest-hooks"
        cfg["hooks"] = {
            phase: [_hook(script, phase)] for phase in ("prestart", "createRuntime", "createContainer",
                                                        "poststart", "poststop")
        }
        # startContainer: resolved and run inside the container, after pivot_root
        cfg["hooks"]["startContainer"] = [{"path": "/start-hook", "args": ["start-hook", "x"], "env": ENV}]

    cid, bundle = make_bundle(["sleep", "30"], edit=edit)
    (bundle / "rootfs" / "start-hook").write_text(
        "#!/bin/sh\nhostname > /start-hook.ran\ncat > /start-hook.state\n")
    (bundle / "rootfs" / "start-hook").chmod(0o755)
    host_mnt, host_uts = os.readlink("/proc/self/ns/mnt"), os.readlink("/proc/self/ns/uts")

    rt.create(cid, bundle)
    pid = rt.state(cid).pid
    assert pid is not None
    ctr_mnt, ctr_uts = os.readlink(f"/proc/{pid}/ns/mnt"), os.readlink(f"/proc/{pid}/ns/uts")
    created = _records(log)
    assert [r["phase"] for r in created] == ["prestart", "createRuntime", "createContainer"]
    for r in created:
        assert r["mark"] == "yes"
        assert r["state"]["id"] == cid and r["state"]["pid"] == pid and r["state"]["status"] == "creating"
        assert r["state"]["bundle"] == str(bundle)
    for r in created[:2]:
        assert (r["mnt"], r["uts"]) == (host_mnt, host_uts)  # the runtime's namespaces
    assert (created[2]["mnt"], created[2]["uts"]) == (ctr_mnt, ctr_uts) != (host_mnt, host_uts)  # the container's
    assert not (bundle / "rootfs" / "start-hook.ran").exists()

    rt.start(cid)
    assert (bundle / "rootfs" / "start-hook.ran").read_text() == "pstest-hooks\n"  # before start returned
    start_state = json.loads((bundle / "rootfs" / "start-hook.state").read_text())
    assert start_state["status"] == "created" and start_state["pid"] == pid
    poststart = _records(log)[3]
    assert poststart["phase"] == "poststart" and poststart["state"]["status"] == "running"
    assert poststart["mnt"] == host_mnt
    assert rt.state(cid).status == "running"

    rt.delete(cid, force=True)
    poststop = _records(log)[4]
    assert poststop["phase"] == "poststop" and poststop["state"]["status"] == "stopped"
    assert "pid" not in poststop["state"]
    assert rt.list() == []


def _failing(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text(f"#!/bin/sh\n{body}\n")
    p.chmod(0o755)
    return p


@pytest.mark.parametrize("phase", ["prestart", "createRuntime", "createContainer"])
def test_a_failing_create_hook_fails_create_and_leaves_nothing(rt: PystackRuntime, make_bundle: BundleFactory,
                                                               tmp_path: Path, phase: str) -> None:
    bad = _failing(tmp_path, "bad-hook", "cat >/dev/null; echo 'no network for you' >&2; exit 3")
    cid, bundle = make_bundle(["true"], edit=lambda cfg: cfg.update(hooks={phase: [{"path": str(bad)}]}))
    with pytest.raises(PystackError) as err:
        rt.create(cid, bundle)
    msg = str(err.value)
    assert f"{phase} hook {bad}" in msg and "code 3" in msg and "no network for you" in msg
    assert "\n" not in msg
    assert rt.list() == []
    assert not Path(f"/sys/fs/cgroup/memory/pystack/{cid}").exists()


def test_a_hook_that_outlives_its_timeout_is_killed_and_fails_create(rt: PystackRuntime, make_bundle: BundleFactory,
                                                                      tmp_path: Path) -> None:
    slow = _failing(tmp_path, "slow-hook", "exec sleep 30")
    cid, bundle = make_bundle(["true"], edit=lambda cfg: cfg.update(
        hooks={"createRuntime": [{"path": str(slow), "timeout": 1}]}))
    with pytest.raises(PystackError, match="timed out after 1 s"):
        rt.create(cid, bundle)
    assert rt.list() == []


def test_a_failing_start_hook_fails_start_and_the_container_stops(rt: PystackRuntime, make_bundle: BundleFactory
                                                                  ) -> None:
    cid, bundle = make_bundle(["sleep", "30"], edit=lambda cfg: cfg.update(
        hooks={"startContainer": [{"path": "/bin/false"}]}))
    rt.create(cid, bundle)
    with pytest.raises(PystackError, match="startContainer hook /bin/false: exited with code 1"):
        rt.start(cid)
    st = rt.wait(cid, 10)
    assert st is not None and rt.state(cid).status == "stopped"
    rt.delete(cid)
    assert rt.list() == []


def test_poststart_and_poststop_failures_are_warnings(rt: PystackRuntime, make_bundle: BundleFactory,
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = _failing(tmp_path, "bad-hook", "exit 4")
    script, log = _recorder(tmp_path)
    warned: list[str] = []
    monkeypatch.setattr(rt, "warn", warned.append)
    cid, bundle = make_bundle(["sleep", "30"], edit=lambda cfg: cfg.update(hooks={
        "poststart": [{"path": str(bad)}, _hook(script, "poststart")],
        "poststop": [{"path": str(bad)}, _hook(script, "poststop")],
    }))
    rt.create(cid, bundle)
    rt.start(cid)
    assert rt.state(cid).status == "running"
    rt.delete(cid, force=True)
    assert [w.split(":")[0] for w in warned] == [f"poststart hook {bad}", f"poststop hook {bad}"]
    assert [r["phase"] for r in _records(log)] == ["poststart", "poststop"]  # the rest still ran


@pytest.mark.parametrize(("hooks", "key"), [
    ({"prestart": [{"path": "relative/hook"}]}, "hooks.prestart[0].path"),
    ({"poststop": [{"path": "/bin/true", "timeout": 0}]}, "hooks.poststop[0].timeout"),
    ({"createRuntime": [{"path": "/bin/true", "args": "x"}]}, "hooks.createRuntime[0].args"),
    ({"beforeEverything": []}, "hooks.beforeEverything"),
])
def test_malformed_hooks_are_refused_naming_the_key(rt: PystackRuntime, make_bundle: BundleFactory,
                                                    hooks: dict[str, Any], key: str) -> None:
    cid, bundle = make_bundle(["true"], edit=lambda cfg: cfg.update(hooks=hooks))
    with pytest.raises(PystackError, match=key.replace("[", r"\[").replace("]", r"\]")):
        rt.create(cid, bundle)
    assert rt.list() == []


@pytest.mark.parametrize("name", ["crun", "runc"])
def test_the_same_hooks_under_crun_and_runc_run_in_the_same_order_and_places(
        name: str, make_bundle: BundleFactory, tmp_path: Path) -> None:
    """The reference runtimes on the bundle of the first test: same phases, order, statuses, namespaces."""
    import shutil

    from orchestrator.paths import Paths
    from orchestrator.runtime.api import get_runtime

    if shutil.which(name) is None:
        pytest.skip(f"{name} not installed")
    script, log = _recorder(tmp_path)
    phases = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")

    def edit(cfg: dict[str, Any]) -> None:
        cfg["hooks"] = {phase: [_hook(script, phase)] for phase in phases}
        cfg["hooks"]["startContainer"] = [{"path": "/start-hook", "args": ["start-hook"], "env": ENV}]

    cid, bundle = make_bundle(["sleep", "30"], edit=edit)
    (bundle / "rootfs" / "start-hook").write_text("#!/bin/sh\ntouch /start-hook.ran\n")
    (bundle / "rootfs" / "start-hook").chmod(0o755)
    rt = get_runtime(name, Paths(tmp_path / "state"))
    rt.create(cid, bundle)
    try:
        pid = rt.state(cid).pid
        ctr_mnt = os.readlink(f"/proc/{pid}/ns/mnt")
        rt.start(cid)
        assert (bundle / "rootfs" / "start-hook.ran").exists()
    finally:
        rt.delete(cid, force=True)
    got = _records(log)
    assert [r["phase"] for r in got] == list(phases)
    assert all(r["mark"] == "yes" and r["state"]["id"] == cid for r in got)
    # createContainer in the container's mount namespace, the others outside it (the wrapper runs
    # the reference runtimes in a private mount namespace of their own, so not the test's)
    assert [r["mnt"] == ctr_mnt for r in got] == [False, False, True, False, False]
    # The state status the hooks see differs between the references; pystack says "creating"
    # during create (as runc) and "running" in poststart (as crun).
    statuses = {"runc": ["creating", "creating", "creating", "created", "stopped"],
                "crun": ["created", "created", "created", "running", "stopped"]}
    assert [r["state"]["status"] for r in got] == statuses[name]
    assert rt.list() == []
