"""End-to-end fixtures: the ``pystack`` command as a user types it, inside a throwaway "host" netns.

Each test gets its own state root and its own network namespace that stands in for the host:
pystack runs under ``nsenter --net`` (only the network namespace changes, so its mounts and
processes are the real host's and the leak check sees them), its bridges, veths, DNS listeners
and published ports live in that namespace, and traffic never leaves it. The busybox image is
built once per session, offline, and copied into each root.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.root


@dataclass
class Host:
    netns: str
    root: Path
    workdir: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYSTACK_ROOT"] = str(self.root)
        env.pop("COMPOSE_PROJECT_NAME", None)
        env.pop("COMPOSE_FILE", None)
        return env

    def pystack(self, *args: str, check: bool = True, timeout: float = 120,
                input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        cmd = ["nsenter", f"--net=/run/netns/{self.netns}", sys.executable, "-m", "orchestrator", *args]
        res = subprocess.run(cmd, cwd=self.workdir, env={**self.env(), **(env or {})}, capture_output=True, text=True,
                             timeout=timeout, input=input)
        if check and res.returncode != 0:
            raise AssertionError(f"pystack {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        return res

    def sh(self, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """A command run in the stand-in host's network namespace (busybox tools)."""
        return subprocess.run(["nsenter", f"--net=/run/netns/{self.netns}", "/bin/busybox", "sh", "-c", command],
                              capture_output=True, text=True, timeout=timeout)

    def http(self, url: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            res = self.sh(f"timeout 3 wget -q -O- {url}")
            if res.returncode == 0:
                return res.stdout
            last = res.stderr
            time.sleep(0.1)
        raise AssertionError(f"{url} did not answer: {last}")

    def write(self, name: str, text: str) -> Path:
        p = self.workdir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p


@pytest.fixture(scope="session")
def busybox_image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state root holding busybox:latest, built offline once; tests copy it."""
    root = tmp_path_factory.mktemp("e2e-image-root")
    subprocess.run([sys.executable, "-m", "orchestrator.images.base_images", "--root", str(root)], check=True,
                   capture_output=True)
    return root


@pytest.fixture
def host(tmp_path: Path, busybox_image_root: Path) -> Iterator[Host]:
    name = f"pse2e-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    root = tmp_path / "root"
    shutil.copytree(busybox_image_root, root, symlinks=True)
    work = tmp_path / "work"
    work.mkdir()
    h = Host(name, root, work)
    try:
        yield h
    finally:
        # whatever the test left: take every stack down, then remove the stand-in host
        for f in work.glob("*.y*ml"):
            h.pystack("-f", str(f), "down", "-v", "-t", "0", check=False)
        _kill_leftovers(root)
        subprocess.run(["ip", "netns", "del", name], check=False)


def _kill_leftovers(root: Path) -> None:
    """Supervisors of this root that a failed test left running."""
    for pidfile in (root / "run" / "stacks").glob("*/supervisor.pid") if (root / "run").exists() else []:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text()), 9)


REGISTRY_PORT = 5393  # the e2e tests' registry (one test at a time uses it)


@pytest.fixture
def registry(host: Host) -> Iterator[str]:
    """A registry on 127.0.0.1:5393 of the stand-in host, stopped (and its data left in tmp) at the end."""
    work = host.workdir.parent / "registry"
    work.mkdir()
    (work / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {work / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{REGISTRY_PORT}\n")
    with open(work / "log", "wb") as log:
        proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{host.netns}", "docker-registry", "serve",
                                 str(work / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while host.sh(f"wget -q -O- http://127.0.0.1:{REGISTRY_PORT}/v2/").returncode != 0:
            assert proc.poll() is None, (work / "log").read_text()
            assert time.monotonic() < deadline, "docker-registry did not start"
            time.sleep(0.1)
        yield f"localhost:{REGISTRY_PORT}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
