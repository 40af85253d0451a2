"""Overlay roots on the real kernel: layering order, whiteouts, many layers, clean unmount."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.errors import RuntimeFailure
from orchestrator.storage import rootfs
from orchestrator.storage.mounts import MountError
from orchestrator.storage.rootfs import is_mounted, mount_rootfs, unmount_rootfs
from orchestrator.storage.unpack import unpack_layer
from tests.unit.storage.tarutil import E, make_tar

pytestmark = pytest.mark.root


@pytest.fixture
def cdir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "ctr"
    try:
        yield d
    finally:
        unmount_rootfs(d)


def _layer(tmp_path: Path, name: str, entries: list[E]) -> Path:
    dest = tmp_path / "layers" / name
    unpack_layer(io.BytesIO(make_tar(entries)), dest)
    return dest


def test_layers_stack_lowest_first_and_whiteouts_hide(tmp_path: Path, cdir: Path) -> None:
    base = _layer(tmp_path, "base", [E("etc/a", data=b"base"), E("etc/gone", data=b"x"),
                                     E("var/cache/old", data=b"o")])
    top = _layer(tmp_path, "top", [E("etc/a", data=b"top"), E("etc/.wh.gone"),
                                   E("var/cache/.wh..wh..opq"), E("var/cache/new", data=b"n")])
    merged = mount_rootfs([base, top], cdir)
    assert is_mounted(merged)
    assert (merged / "etc/a").read_bytes() == b"top"
    assert not (merged / "etc/gone").exists()
    assert sorted(os.listdir(merged / "var/cache")) == ["new"]
    (merged / "etc/written").write_text("w")
    os.unlink(merged / "etc/a")
    unmount_rootfs(cdir)
    assert not is_mounted(merged)
    assert (cdir / "upper/etc/written").read_text() == "w"
    wh = os.lstat(cdir / "upper/etc/a")
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    unmount_rootfs(cdir)  # idempotent


def test_readonly_root_refuses_writes(tmp_path: Path, cdir: Path) -> None:
    base = _layer(tmp_path, "base", [E("f", data=b"1")])
    merged = mount_rootfs([base], cdir, readonly=True)
    with pytest.raises(OSError) as info:
        (merged / "g").write_text("x")
    assert info.value.errno == 30  # EROFS


def test_scratch_root_with_no_layers_mounts_empty(cdir: Path) -> None:
    merged = mount_rootfs([], cdir)
    assert os.listdir(merged) == []


def test_120_layers_mount(tmp_path: Path, cdir: Path) -> None:
    lowers = [_layer(tmp_path, f"layer-with-a-long-directory-name-{i:04d}", [E(f"f{i}", data=str(i).encode()),
                                                                             E("top", data=str(i).encode())])
              for i in range(120)]
    assert len(":".join(map(str, lowers))) > os.sysconf("SC_PAGE_SIZE")
    merged = mount_rootfs(lowers, cdir)
    assert (merged / "f0").read_text() == "0" and (merged / "f119").read_text() == "119"
    assert (merged / "top").read_text() == "119"


def test_classic_fallback_with_short_links(
    tmp_path: Path, cdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kernels before 6.8 lack lowerdir+: the one-page string is shortened by symlinks."""
    def no_new_api(*args: object) -> None:
        raise MountError("overlay option lowerdir+=x: Invalid argument", 22)

    monkeypatch.setattr(rootfs, "_mount_new_api", no_new_api)
    lowers = [_layer(tmp_path, f"layer-with-a-long-directory-name-{i:04d}", [E("top", data=str(i).encode())])
              for i in range(60)]
    merged = mount_rootfs(lowers, cdir)
    assert (merged / "top").read_text() == "59"
    assert os.getcwd() != str(cdir)


def test_busy_mount_is_detached_lazily(tmp_path: Path, cdir: Path) -> None:
    base = _layer(tmp_path, "base", [E("d/f", data=b"1")])
    merged = mount_rootfs([base], cdir)
    fd = os.open(merged / "d", os.O_RDONLY)
    try:
        old = os.getcwd()
        os.chdir(merged / "d")
        try:
            unmount_rootfs(cdir)
        finally:
            os.chdir(old)
        assert not is_mounted(merged)
    finally:
        os.close(fd)


def test_missing_layer_dir_is_a_clear_error(tmp_path: Path, cdir: Path) -> None:
    with pytest.raises(RuntimeFailure, match="missing"):
        mount_rootfs([tmp_path / "nope"], cdir)
