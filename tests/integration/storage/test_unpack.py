"""unpack_layer on the real filesystem: types, metadata, whiteouts, digests, compressions."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import subprocess
from pathlib import Path

import pytest

from orchestrator.errors import ImageError
from orchestrator.storage.unpack import OPAQUE_XATTR, unpack_layer
from tests.unit.storage.tarutil import E, make_tar

pytestmark = pytest.mark.root


def _sample() -> bytes:
    return make_tar([
        E("./", "dir", mode=0o755),
        E("etc", "dir", mode=0o755, mtime=1_500_000_000),
        E("etc/conf", data=b"x=1\n", mode=0o640, uid=1000, gid=1001, mtime=1_400_000_000),
        E("etc/conf.link", "link", target="etc/conf"),
        E("bin/tool", data=b"#!/bin/sh\n", mode=0o4755, xattrs={"user.origin": "test"}),
        E("lib", "sym", target="/usr/lib", uid=5, gid=6),
        E("dev/null", "chr", mode=0o666, dev=(1, 3)),
        E("dev/loop0", "blk", mode=0o660, dev=(7, 0)),
        E("run/fifo", "fifo", mode=0o600),
    ])


def test_types_and_metadata_are_kept(tmp_path: Path) -> None:
    data = _sample()
    stats = unpack_layer(io.BytesIO(data), tmp_path / "l", compression="none")
    root = tmp_path / "l"
    assert stats.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert stats.size == len(data) and stats.files == 9
    conf = os.stat(root / "etc/conf")
    assert (conf.st_uid, conf.st_gid, stat.S_IMODE(conf.st_mode)) == (1000, 1001, 0o640)
    assert conf.st_mtime == 1_400_000_000 and conf.st_nlink == 2
    assert os.stat(root / "etc/conf.link").st_ino == conf.st_ino
    assert os.stat(root / "etc").st_mtime == 1_500_000_000
    tool = os.stat(root / "bin/tool")
    assert stat.S_IMODE(tool.st_mode) == 0o4755
    assert os.getxattr(root / "bin/tool", "user.origin") == b"test"
    assert os.readlink(root / "lib") == "/usr/lib"
    assert os.lstat(root / "lib").st_uid == 5
    null = os.lstat(root / "dev/null")
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
    assert stat.S_ISBLK(os.lstat(root / "dev/loop0").st_mode)
    assert stat.S_ISFIFO(os.lstat(root / "run/fifo").st_mode)


def test_whiteouts_become_overlay_whiteouts(tmp_path: Path) -> None:
    data = make_tar([
        E("etc/.wh.removed"),
        E("var/cache", "dir"),
        E("var/cache/.wh..wh..opq"),
        E("var/cache/kept", data=b"k"),
        E(".wh..wh.plnk", "dir"),
    ])
    unpack_layer(io.BytesIO(data), tmp_path / "l")
    wh = os.lstat(tmp_path / "l/etc/removed")
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == os.makedev(0, 0)
    assert not (tmp_path / "l/etc/.wh.removed").exists()
    assert os.getxattr(tmp_path / "l/var/cache", OPAQUE_XATTR) == b"y"
    assert (tmp_path / "l/var/cache/kept").read_bytes() == b"k"
    assert not (tmp_path / "l/var/cache/.wh..wh..opq").exists()
    assert not (tmp_path / "l/.wh..wh.plnk").exists()


def test_overlay_xattrs_from_the_tar_are_dropped(tmp_path: Path) -> None:
    data = make_tar([E("d", "dir", xattrs={"trusted.overlay.redirect": "/etc", "user.ok": "1"})])
    unpack_layer(io.BytesIO(data), tmp_path / "l")
    assert os.listxattr(tmp_path / "l/d") == ["user.ok"]


def test_later_entries_replace_earlier_ones(tmp_path: Path) -> None:
    data = make_tar([
        E("a", data=b"one"), E("a", data=b"two"),
        E("d", "dir"), E("d/x", data=b"x"), E("d", "sym", target="elsewhere"),
        E("k", "dir"), E("k/y", data=b"y"), E("k", "dir", mode=0o700),
    ])
    unpack_layer(io.BytesIO(data), tmp_path / "l")
    assert (tmp_path / "l/a").read_bytes() == b"two"
    assert os.readlink(tmp_path / "l/d") == "elsewhere"
    assert (tmp_path / "l/k/y").read_bytes() == b"y"
    assert stat.S_IMODE(os.stat(tmp_path / "l/k").st_mode) == 0o700


def test_every_kind_of_entry_replaces_every_other(tmp_path: Path) -> None:
    """A name taken by an earlier entry is cleared and made again, whatever the two kinds: nothing is
    written through an earlier symlink, and a directory stays only under a later directory."""
    outside = tmp_path / "outside"
    outside.mkdir()
    kinds = {
        "file": lambda n: E(n, data=b"f"),
        "dir": lambda n: E(n, "dir", mode=0o750),
        "sym": lambda n: E(n, "sym", target=str(outside)),
        "dangling": lambda n: E(n, "sym", target="/nowhere"),
        "link": lambda n: E(n, "link", target="src"),
        "fifo": lambda n: E(n, "fifo"),
    }
    entries = [E("src", data=b"linked")]
    pairs = [(a, b) for a in kinds for b in kinds if b != "dangling"]
    for a, b in pairs:
        entries += [kinds[a](f"{a}-{b}"), kinds[b](f"{a}-{b}")]
        if b == "dir":
            entries.append(E(f"{a}-{b}/inside", data=b"i"))
    unpack_layer(io.BytesIO(make_tar(entries)), tmp_path / "l")
    assert list(outside.iterdir()) == []
    for a, b in pairs:
        path = tmp_path / "l" / f"{a}-{b}"
        st = os.lstat(path)
        if b == "file":
            assert stat.S_ISREG(st.st_mode) and path.read_bytes() == b"f" and st.st_nlink == 1
        elif b == "dir":
            assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o750
            assert [p.name for p in path.iterdir()] == ["inside"]
        elif b == "sym":
            assert stat.S_ISLNK(st.st_mode) and os.readlink(path) == str(outside)
        elif b == "link":
            assert os.path.samefile(path, tmp_path / "l/src") and path.read_bytes() == b"linked"
        else:
            assert stat.S_ISFIFO(st.st_mode)


@pytest.mark.parametrize("compression", ["gzip", "zstd", "auto-gzip", "auto-zstd"])
def test_compressions(tmp_path: Path, compression: str) -> None:
    data = _sample()
    blob = gzip.compress(data) if "gzip" in compression else subprocess.run(
        ["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    mode = "auto" if compression.startswith("auto") else compression
    stats = unpack_layer(io.BytesIO(blob), tmp_path / "l", compression=mode)  # type: ignore[arg-type]
    assert stats.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (tmp_path / "l/etc/conf").read_bytes() == b"x=1\n"


def test_tar_written_by_gnu_tar_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a/b").mkdir(parents=True)
    (src / "a/b/f").write_text("hello")
    os.link(src / "a/b/f", src / "a/hl")
    (src / "a/sl").symlink_to("/etc")
    blob = subprocess.run(["tar", "-C", str(src), "-czf", "-", "."], capture_output=True, check=True).stdout
    unpack_layer(io.BytesIO(blob), tmp_path / "l")
    assert (tmp_path / "l/a/b/f").read_text() == "hello"
    assert os.stat(tmp_path / "l/a/hl").st_ino == os.stat(tmp_path / "l/a/b/f").st_ino
    assert os.readlink(tmp_path / "l/a/sl") == "/etc"


def test_truncated_and_garbage_streams_fail_with_one_line(tmp_path: Path) -> None:
    data = make_tar([E("big", data=os.urandom(100_000))])
    with pytest.raises(ImageError) as info:
        unpack_layer(io.BytesIO(data[:5000]), tmp_path / "a", compression="none")
    assert "\n" not in str(info.value) and "truncated" in str(info.value)
    with pytest.raises(ImageError) as info:
        unpack_layer(io.BytesIO(gzip.compress(data)[:3000]), tmp_path / "b", compression="gzip")
    assert "\n" not in str(info.value)
    with pytest.raises(ImageError):
        unpack_layer(io.BytesIO(b"\x28\xb5\x2f\xfd garbage"), tmp_path / "c")


def test_zstd_stream_refused_midway_keeps_the_real_reason(tmp_path: Path) -> None:
    data = make_tar([E("../evil", data=os.urandom(1 << 20))] + [E(f"f{i}", data=os.urandom(1 << 16))
                                                                 for i in range(40)])
    blob = subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    with pytest.raises(ImageError, match=r"contains '\.\.'"):
        unpack_layer(io.BytesIO(blob), tmp_path / "l")
