"""The image commands as a user runs them (a subprocess per command, private state root)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.images.conftest import PASSWORD, USER, RegistryServer

pytestmark = pytest.mark.root


def pystack(root: Path, *args: str, ok: bool = True, stdin: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "PYSTACK_ROOT": str(root), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "orchestrator", *args], capture_output=True, text=True,
                          env=e, input=stdin, timeout=60)
    if ok:
        assert proc.returncode == 0, f"pystack {' '.join(args)}: {proc.stderr}"
    return proc


def test_image_commands(pystack_root: Path, busybox_tar: Path, tmp_path: Path) -> None:
    out = pystack(pystack_root, "image", "import", str(busybox_tar), "pstest/bb:1", "--cmd", '["sh"]').stdout
    image_id = out.strip()
    assert image_id.startswith("sha256:")
    table = pystack(pystack_root, "image", "ls").stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert table[1].split()[:3] == ["pstest/bb", "1", image_id[7:19]]
    doc = json.loads(pystack(pystack_root, "image", "inspect", "pstest/bb:1").stdout)
    assert doc[0]["Id"] == image_id and doc[0]["Config"]["Cmd"] == ["sh"]
    assert "pystack import rootfs.tar" in pystack(pystack_root, "image", "history", "pstest/bb:1").stdout
    pystack(pystack_root, "image", "tag", "pstest/bb:1", "pstest/bb:2")
    pystack(pystack_root, "image", "save", "-o", str(tmp_path / "a.tar.gz"), "pstest/bb:1", "pstest/bb:2")
    assert pystack(pystack_root, "image", "rm", "pstest/bb:1").stdout == "Untagged: pstest/bb:1\n"
    assert pystack(pystack_root, "image", "rm", "pstest/bb:2").stdout.splitlines() == [
        "Untagged: pstest/bb:2", f"Deleted: {image_id}"]
    loaded = pystack(pystack_root, "image", "load", "-i", str(tmp_path / "a.tar.gz")).stdout
    assert loaded.splitlines() == ["Loaded image: pstest/bb:1", "Loaded image: pstest/bb:2"]
    assert pystack(pystack_root, "image", "ls", "-q").stdout.split() == [image_id[7:19]]
    bad = pystack(pystack_root, "image", "inspect", "nope:1", ok=False)
    assert bad.returncode == 1 and bad.stderr == 'image "nope:1" not found locally; pull it or build it\n'


def test_login_push_pull(pystack_root: Path, busybox_tar: Path, htpasswd_registry: RegistryServer,
                         tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path / "dc")}
    ref = f"{htpasswd_registry.host}/pstest/cli:1"
    pystack(pystack_root, "image", "import", str(busybox_tar), ref)
    denied = pystack(pystack_root, "push", ref, ok=False, env=env)
    assert denied.returncode == 1 and "pystack login" in denied.stderr and "Traceback" not in denied.stderr
    res = pystack(pystack_root, "login", htpasswd_registry.host, "-u", USER, "--password-stdin",
                  stdin=PASSWORD + "\n", env=env)
    assert "Login Succeeded" in res.stdout
    pushed = pystack(pystack_root, "--progress", "plain", "push", ref, env=env)
    assert "pushed sha256:" in pushed.stderr
    other = tmp_path / "other-root"
    pulled = pystack(other, "--progress", "plain", "pull", ref, env=env)
    assert pulled.stdout.strip() == ref and ": done" in pulled.stderr
