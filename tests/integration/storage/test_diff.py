"""make_layer from a real overlay upper dir: whiteouts back to OCI form, round trip, determinism."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest

from orchestrator.storage.diff import make_layer
from orchestrator.storage.rootfs import mount_rootfs, unmount_rootfs
from orchestrator.storage.unpack import OPAQUE_XATTR, unpack_layer
from tests.unit.storage.tarutil import E, make_tar

pytestmark = pytest.mark.root


def _changes_in_overlay(tmp_path: Path) -> Path:
    base = tmp_path / "base"
    unpack_layer(io.BytesIO(make_tar([E("etc/keep", data=b"k"), E("etc/gone", data=b"g"),
                                      E("cache/old", data=b"o"), E("bin/sh", data=b"sh", mode=0o755)])), base)
    ctr = tmp_path / "ctr"
    merged = mount_rootfs([base], ctr)
    try:
        os.unlink(merged / "etc/gone")
        shutil.rmtree(merged / "cache")
        (merged / "cache").mkdir()
        (merged / "cache/new").write_text("n")
        (merged / "etc/keep").write_text("changed")
        os.link(merged / "etc/keep", merged / "etc/keep2")
        (merged / "lnk").symlink_to("/etc/keep")
        os.setxattr(merged / "etc/keep", "user.tag", b"v")
    finally:
        unmount_rootfs(ctr)
    return ctr / "upper"


def test_upper_becomes_oci_layer_with_whiteouts(tmp_path: Path) -> None:
    upper = _changes_in_overlay(tmp_path)
    buf = io.BytesIO()
    blob = make_layer(upper, buf)
    data = buf.getvalue()
    assert blob.digest == "sha256:" + hashlib.sha256(data).hexdigest() and blob.size == len(data)
    plain = gzip.decompress(data)
    assert blob.diff_id == "sha256:" + hashlib.sha256(plain).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(plain)) as tf:
        members = {m.name: m for m in tf.getmembers()}
    assert "etc/.wh.gone" in members and members["etc/.wh.gone"].size == 0
    assert "cache/.wh..wh..opq" in members
    assert members["etc/keep2"].islnk() or members["etc/keep"].islnk()
    assert members["lnk"].issym() and members["lnk"].linkname == "/etc/keep"
    assert members["etc/keep"].pax_headers.get("SCHILY.xattr.user.tag") == "v"
    assert not any("trusted.overlay" in k for m in members.values() for k in m.pax_headers)
    assert all(m.uname == "" for m in members.values())
    # the round trip gives the same overlay form back
    again = tmp_path / "again"
    stats = unpack_layer(io.BytesIO(data), again)
    assert stats.diff_id == blob.diff_id
    assert stat.S_ISCHR(os.lstat(again / "etc/gone").st_mode)
    assert os.getxattr(again / "cache", OPAQUE_XATTR) == b"y"
    assert (again / "etc/keep").read_text() == "changed"


def test_same_upper_gives_same_bytes_and_plain_tar_option(tmp_path: Path) -> None:
    upper = _changes_in_overlay(tmp_path)
    a, b, c = io.BytesIO(), io.BytesIO(), io.BytesIO()
    assert make_layer(upper, a) == make_layer(upper, b)
    assert a.getvalue() == b.getvalue()
    plain = make_layer(upper, c, gzip=False)
    assert plain.digest == plain.diff_id == make_layer(upper, io.BytesIO()).diff_id


def test_skip_leaves_entries_out(tmp_path: Path) -> None:
    upper = tmp_path / "u"
    (upper / "proc").mkdir(parents=True)
    (upper / "app.txt").write_text("x")
    buf = io.BytesIO()
    make_layer(upper, buf, gzip=False, skip=lambda rel: rel == "proc")
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tf:
        assert tf.getnames() == ["app.txt"]
