"""Suite-wide fixtures: a private state root per test and the leak check over the whole run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import leaks
from tests.helpers.rootfs import make_busybox_rootfs


def _leak_check_enabled() -> bool:
    return os.environ.get("PYSTACK_LEAK_CHECK", "1") != "0"


@pytest.fixture(scope="session", autouse=True)
def _no_leftovers() -> Iterator[None]:
    """Fail the run when it leaves mounts, links, netns, cgroups or processes behind."""
    if not _leak_check_enabled():
        yield
        return
    before = leaks.take()
    yield
    import time

    for _ in range(20):  # processes being reaped and lazy unmounts may take a moment
        problems = leaks.diff(before, leaks.take())
        if not problems:
            return
        time.sleep(0.1)
    pytest.fail("the test run left things behind:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention busybox root: copy it (or overlay it) before writing."""
    return make_busybox_rootfs(tmp_path_factory.mktemp("busybox-rootfs"))


@pytest.fixture
def pystack_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("PYSTACK_ROOT", str(root))
    return root


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)
