"""Named volumes with copy-up, bind sources and tmpfs options, on the real filesystem."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from orchestrator.paths import Paths
from orchestrator.storage.volumes import (
    VolumeError,
    ensure_volume,
    list_volumes,
    populate_from_image,
    prepare_bind,
    remove_volume,
    tmpfs_options,
    volume_labels,
)

pytestmark = pytest.mark.root


@pytest.fixture
def image(tmp_path: Path) -> Path:
    root = tmp_path / "image"
    (root / "var/lib/data/sub").mkdir(parents=True)
    os.chown(root / "var/lib/data", 999, 998)
    os.chmod(root / "var/lib/data", 0o750)
    (root / "var/lib/data/seed.txt").write_text("seed")
    os.chown(root / "var/lib/data/seed.txt", 999, 998)
    os.link(root / "var/lib/data/seed.txt", root / "var/lib/data/sub/seed-hard")
    (root / "var/lib/data/link").symlink_to("/etc/passwd")
    (root / "data").symlink_to("/var/lib/data")  # absolute: must resolve inside the image
    (root / "escape").symlink_to("../../../../../../../etc")
    return root


def test_volume_lifecycle_and_labels(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "root")
    data = ensure_volume(paths, "proj_db", labels={"com.docker.compose.project": "proj"})
    assert data == paths.volumes / "proj_db" / "_data" and data.is_dir()
    assert ensure_volume(paths, "proj_db", labels={"other": "x"}) == data
    assert volume_labels(paths, "proj_db") == {"com.docker.compose.project": "proj"}
    assert list_volumes(paths) == ["proj_db"]
    remove_volume(paths, "proj_db")
    remove_volume(paths, "proj_db")
    assert list_volumes(paths) == []
    for bad in ("../x", "a", "-x", "a/b", ""):
        with pytest.raises(VolumeError):
            ensure_volume(paths, bad)


def test_copy_up_on_first_use_only(tmp_path: Path, image: Path) -> None:
    data = ensure_volume(Paths(tmp_path / "root"), "vol1")
    populate_from_image(data, image, "/data")  # via an absolute symlink inside the image
    assert (data / "seed.txt").read_text() == "seed"
    st = os.stat(data)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (999, 998, 0o750)
    assert os.stat(data / "seed.txt").st_uid == 999
    assert os.stat(data / "sub/seed-hard").st_ino == os.stat(data / "seed.txt").st_ino
    assert os.readlink(data / "link") == "/etc/passwd"
    (data / "seed.txt").write_text("changed")
    (image / "var/lib/data/new").write_text("n")
    populate_from_image(data, image, "/var/lib/data")
    assert (data / "seed.txt").read_text() == "changed" and not (data / "new").exists()


def test_copy_up_never_reads_outside_the_image(tmp_path: Path, image: Path) -> None:
    data = ensure_volume(Paths(tmp_path / "root"), "vol2")
    populate_from_image(data, image, "/escape")  # ../../.. clamps at the image root: /etc there is absent
    assert os.listdir(data) == []
    populate_from_image(data, image, "/nonexistent/dir")
    populate_from_image(data, image, "/var/lib/data/seed.txt")  # not a directory
    assert os.listdir(data) == []


def test_bind_sources(tmp_path: Path) -> None:
    src = tmp_path / "host" / "dir"
    with pytest.raises(VolumeError, match="does not exist"):
        prepare_bind(src, create_host_path=False)
    assert prepare_bind(src, create_host_path=True) == src and src.is_dir()
    (tmp_path / "ln").symlink_to(src)
    assert prepare_bind(tmp_path / "ln", create_host_path=False) == src
    with pytest.raises(VolumeError, match="absolute"):
        prepare_bind(Path("rel/path"), create_host_path=True)


def test_tmpfs_options() -> None:
    assert tmpfs_options() == ["nosuid", "nodev"]
    assert tmpfs_options(65536, 0o1777) == ["nosuid", "nodev", "size=65536", "mode=1777"]
    with pytest.raises(VolumeError):
        tmpfs_options(0)


def test_copy_up_from_a_mounted_image_sees_whiteouts(tmp_path: Path) -> None:
    import io

    from orchestrator.storage.rootfs import mount_rootfs, unmount_rootfs
    from orchestrator.storage.unpack import unpack_layer
    from tests.unit.storage.tarutil import E, make_tar

    base, top = tmp_path / "l0", tmp_path / "l1"
    unpack_layer(io.BytesIO(make_tar([E("srv/keep", data=b"k"), E("srv/gone", data=b"g")])), base)
    unpack_layer(io.BytesIO(make_tar([E("srv/.wh.gone"), E("srv/new", data=b"n")])), top)
    cdir = tmp_path / "ctr"
    try:
        merged = mount_rootfs([base, top], cdir, readonly=True)
        data = ensure_volume(Paths(tmp_path / "root"), "vol3")
        populate_from_image(data, merged, "/srv")
    finally:
        unmount_rootfs(cdir)
    assert sorted(os.listdir(data)) == ["keep", "new"]
