"""Fixtures for image tests: a store in a private root, and a busybox rootfs tar to import."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.images.base_images import busybox_rootfs_tar
from orchestrator.images.store import ImageStore
from orchestrator.paths import Paths


@pytest.fixture
def store(pystack_root: Path) -> Iterator[ImageStore]:
    s = ImageStore(Paths(pystack_root))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bbtar") / "rootfs.tar"
    busybox_rootfs_tar(out)
    return out
