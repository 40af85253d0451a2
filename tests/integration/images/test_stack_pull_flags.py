"""``pull`` over a stack with Compose's flags: --include-deps, --policy missing,
--ignore-pull-failures (a real registry on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.images.conftest import RegistryServer
from tests.integration.images.test_cli import pystack

pytestmark = pytest.mark.root


def test_stack_pull_flags(pystack_root: Path, busybox_tar: Path, registry: RegistryServer, tmp_path: Path) -> None:
    web, db = f"{registry.host}/flagfix/web:1", f"{registry.host}/flagfix/db:1"
    source = tmp_path / "source-root"
    for ref in (web, db):
        pystack(source, "image", "import", str(busybox_tar), ref)
        pystack(source, "push", ref)
    stack = tmp_path / "compose.yaml"
    stack.write_text(f"""
name: flagfixpull
services:
  web:
    image: {web}
    depends_on: [db]
  db:
    image: {db}
  gone:
    image: 127.0.0.1:1/flagfix/gone:1
""")
    f = ["-f", str(stack), "--progress", "plain"]

    def present() -> list[str]:
        return sorted(line.split()[0] for line in pystack(pystack_root, "image", "ls").stdout.splitlines()[1:])

    pystack(pystack_root, *f, "pull", "web")
    assert present() == [f"{registry.host}/flagfix/web"]
    pystack(pystack_root, *f, "pull", "--include-deps", "web")
    assert present() == [f"{registry.host}/flagfix/db", f"{registry.host}/flagfix/web"]

    assert pystack(pystack_root, *f, "pull", "--policy", "missing", "web", "db").stderr == ""  # nothing to fetch
    assert "pulled sha256:" in pystack(pystack_root, *f, "pull", "web").stderr  # --policy always, the default

    failed = pystack(pystack_root, *f, "pull", ok=False)
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    ignored = pystack(pystack_root, *f, "pull", "--ignore-pull-failures")
    assert "WARN service gone:" in ignored.stderr


def test_stack_push_flags(pystack_root: Path, busybox_tar: Path, registry: RegistryServer, tmp_path: Path) -> None:
    web, db, gone = f"{registry.host}/flagfix/web:2", f"{registry.host}/flagfix/db:2", "127.0.0.1:1/flagfix/gone:2"
    for ref in (web, db, gone):
        pystack(pystack_root, "image", "import", str(busybox_tar), ref)
    stack = tmp_path / "compose.yaml"
    stack.write_text(f"""
name: flagfixpush
services:
  web:
    image: {web}
    depends_on: [db]
  db:
    image: {db}
  gone:
    image: {gone}
""")
    f = ["-f", str(stack), "--progress", "plain"]
    out = pystack(pystack_root, *f, "push", "web").stderr
    assert "flagfix/web:2" in out and "flagfix/db:2" not in out
    out = pystack(pystack_root, *f, "push", "--include-deps", "web").stderr
    assert "flagfix/db:2" in out

    failed = pystack(pystack_root, *f, "push", ok=False)
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    ignored = pystack(pystack_root, *f, "push", "--ignore-push-failures")
    assert f"WARN {gone}:" in ignored.stderr
