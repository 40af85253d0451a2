"""``pystack runtime …`` as a user runs it: the OCI verbs, their JSON and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.runtime.conftest import BundleFactory
from tests.unit.runtime.ocischema import validate_state

pytestmark = pytest.mark.root


def cli(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(["pystack", "--root", str(root), "runtime", *args], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYSTACK_ROOT": str(root)})
    if check and res.returncode != 0:
        raise AssertionError(f"{args}: rc={res.returncode} {res.stderr}")
    return res


def test_verbs_end_to_end(make_bundle: BundleFactory, pystack_root: Path) -> None:
    cid, bundle = make_bundle(["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"])
    pid_file = bundle / "pid"
    try:
        # with --log the container does not hold our pipes (without it, it inherits the caller's stdio)
        cli(pystack_root, "create", cid, "--bundle", str(bundle), "--pid-file", str(pid_file),
            "--log", str(bundle / "log.json"))
        st = json.loads(cli(pystack_root, "state", cid).stdout)
        validate_state(st)
        assert st["status"] == "created" and st["pid"] == int(pid_file.read_text())
        cli(pystack_root, "start", cid)
        assert json.loads(cli(pystack_root, "state", cid).stdout)["status"] == "running"
        listed = json.loads(cli(pystack_root, "list", "--format", "json").stdout)
        assert [c["id"] for c in listed] == [cid]
        assert cli(pystack_root, "ps", cid).stdout.split()[0] == str(st["pid"])
        cli(pystack_root, "pause", cid)
        assert json.loads(cli(pystack_root, "state", cid).stdout)["status"] == "paused"
        cli(pystack_root, "resume", cid)
        res_file = bundle / "res.json"
        res_file.write_text(json.dumps({"pids": {"limit": 64}}))
        cli(pystack_root, "update", cid, "--resources", str(res_file))
        ev = json.loads(cli(pystack_root, "events", "--stats", cid).stdout)
        assert ev["type"] == "stats" and ev["data"]["pids_limit"] == 64
        bad = cli(pystack_root, "delete", cid, check=False)
        assert bad.returncode != 0 and "running" in bad.stderr and "\n" not in bad.stderr.strip()
        cli(pystack_root, "kill", cid, "TERM")
        ex = cli(pystack_root, "exec", cid, "--", "true", check=False)  # may race the exit: either way one line
        assert ex.returncode in (0, 1) and "Traceback" not in ex.stderr
    finally:
        cli(pystack_root, "delete", "--force", cid, check=False)
    assert "does not exist" in cli(pystack_root, "state", cid, check=False).stderr


def test_run_returns_the_exit_code_and_leaves_nothing(make_bundle: BundleFactory, pystack_root: Path) -> None:
    cid, bundle = make_bundle(["sh", "-c", "echo hello; exit 3"])
    res = cli(pystack_root, "run", cid, "--bundle", str(bundle), check=False)
    assert res.returncode == 3 and res.stdout == "hello\n"
    assert json.loads(cli(pystack_root, "list", "--format", "json").stdout) == []
    res = cli(pystack_root, "run", "rt-nobundle", "--bundle", str(bundle / "missing"), check=False)
    assert res.returncode != 0 and "config.json" in res.stderr and "Traceback" not in res.stderr


def test_lifecycle_verbs_run_without_loading_click(make_bundle: BundleFactory, pystack_root: Path) -> None:
    """The verbs other engines call per container go through ``runtime_argv``: click stays unloaded,
    and a failure is still one line with its exit status."""
    cid, bundle = make_bundle(["sh", "-c", "exit 4"])
    probe = ("import sys; from orchestrator.cli.runtime_argv import try_run; code = try_run(sys.argv[1:]); "
             "print(code, 'click' in sys.modules)")

    def fast(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", probe, "--root", str(pystack_root), "runtime", *args],
                              capture_output=True, text=True, timeout=60)

    ran = fast("run", "--bundle", str(bundle), cid)
    assert ran.stdout.split() == ["4", "False"], ran.stderr
    missing = fast("state", cid)
    assert missing.stdout.split() == ["1", "False"]
    assert missing.stderr.strip() == f"container {cid} does not exist"
    assert fast("state", "--help", cid).stdout.split() == ["None", "False"]  # left to click
