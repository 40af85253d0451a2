"""Whether a path is a mount point, from mount ids, agrees with the kernel's mount table."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.storage.mounts import MS_BIND, MountError, is_mountpoint, mount, mount_points, umount
from orchestrator.storage.rootfs import unmount_rootfs

pytestmark = pytest.mark.root


@pytest.fixture
def binds() -> Iterator[list[Path]]:
    """Targets bind-mounted by the test: each unmounted (as often as it was mounted) at the end."""
    made: list[Path] = []
    try:
        yield made
    finally:
        for target in reversed(made):
            with contextlib.suppress(MountError):  # those the test took off already
                umount(target, lazy=True)


def _in_table(path: Path) -> bool:
    return os.path.realpath(path) in mount_points()


def test_bind_mounts_of_the_same_filesystem_are_mount_points(tmp_path: Path, binds: list[Path]) -> None:
    src, dst, plain = tmp_path / "src", tmp_path / "dst", tmp_path / "plain"
    for d in (src, dst, plain):
        d.mkdir()
    (src / "f").write_text("x")
    (src / "file").write_text("under")
    (tmp_path / "file").write_text("over")
    link = tmp_path / "link"
    link.symlink_to(dst)
    assert not is_mountpoint(dst)

    mount(str(src), dst, "", MS_BIND)
    binds.append(dst)
    mount(str(tmp_path / "file"), dst / "file", "", MS_BIND)  # a file over a file (as /etc/hosts is)
    binds.append(dst / "file")
    assert (dst / "file").read_text() == "over"

    assert os.stat(dst).st_dev == os.stat(tmp_path).st_dev  # what comparing devices would miss
    for path, expected in ((dst, True), (dst / "file", True), (link, True), (plain, False),
                           (dst / "f", False), (tmp_path / "missing", False), (Path("/"), True)):
        assert is_mountpoint(path) is expected, path
        assert _in_table(path) is expected, path


def test_unmount_rootfs_takes_off_stacked_mounts_and_is_idempotent(tmp_path: Path, binds: list[Path]) -> None:
    cdir = tmp_path / "ctr"
    merged = cdir / "merged"
    merged.mkdir(parents=True)
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        mount(str(tmp_path / name), merged, "", MS_BIND)
        binds.append(merged)
    assert is_mountpoint(merged)

    unmount_rootfs(cdir)
    assert not is_mountpoint(merged) and not _in_table(merged)
    unmount_rootfs(cdir)  # nothing mounted: a no-op
    unmount_rootfs(tmp_path / "never-made")  # no directory at all: a no-op too
