"""crun and runc behind the same Runtime protocol, with pystack's monitor owning logs and exit codes."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from orchestrator.paths import Paths
from orchestrator.runtime.api import get_runtime
from tests.integration.runtime.conftest import BundleFactory

pytestmark = pytest.mark.root


@pytest.mark.parametrize("name", ["crun", "runc"])
def test_external_runtime_verbs(name: str, make_bundle: BundleFactory, tmp_path: Path) -> None:
    if shutil.which(name) is None:
        pytest.skip(f"{name} not installed")
    rt = get_runtime(name, Paths(tmp_path / "state"))
    cid, bundle = make_bundle(["sh", "-c", "echo started; trap 'exit 0' TERM; while :; do sleep 0.05; done"])
    log = bundle / "log.json"
    rt.create(cid, bundle, log_path=log)
    try:
        assert rt.state(cid).status == "created"
        rt.start(cid)
        assert rt.state(cid).status == "running"
        assert rt.ps(cid)
        with tempfile.TemporaryFile() as out:
            assert rt.exec(cid, {"args": ["sh", "-c", "echo in; exit 4"]}, stdout=out) == 4
            out.seek(0)
            assert out.read() == b"in\n"
        rt.pause(cid)
        assert rt.state(cid).status == "paused"
        rt.resume(cid)
        st = rt.stop(cid, "TERM", timeout=5)
        assert st is not None and st.code == 0
    finally:
        rt.delete(cid, force=True)
    assert json.loads(log.read_text().splitlines()[0])["log"] == "started\n"
    assert rt.list() == []
