"""The image store on a real filesystem: import, shared unpacked layers, names, removal, holders."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tarfile
import threading
from pathlib import Path

import pytest

from orchestrator.errors import ImageError
from orchestrator.images import base_images
from orchestrator.images.store import ImageStore
from tests.unit.images.schemas import validate

pytestmark = pytest.mark.root


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1_700_000_000
            tf.addfile(ti, io.BytesIO(data))
    return path


def test_base_busybox_image_runs_shape(store: ImageStore) -> None:
    img = base_images.build_busybox(store)
    again = base_images.build_busybox(store)
    assert again.manifest_digest == img.manifest_digest  # deterministic: same busybox, same digests
    assert store.resolve("busybox").id == img.id == store.resolve("docker.io/library/busybox:latest").id
    assert img.container_config["Cmd"] == ["sh"]
    (layer,) = store.layer_dirs(img)
    assert (layer / "bin" / "busybox").stat().st_mode & 0o111
    assert os.readlink(layer / "bin" / "sh") == "busybox"
    assert "root:x:0:0" in (layer / "etc" / "passwd").read_text()
    assert (layer / "tmp").stat().st_mode & 0o7777 == 0o1777
    validate("manifest", json.loads(store.content.read_bytes(img.manifest_digest)))
    validate("config", img.config)


def test_layers_are_unpacked_once_and_shared(store: ImageStore, busybox_tar: Path, tmp_path: Path) -> None:
    a = store.import_rootfs(busybox_tar, "localhost/pstest/a:1", config={"Cmd": ["a"]})
    gz = tmp_path / "rootfs.tar.gz"
    with open(busybox_tar, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    b = store.import_rootfs(gz, "localhost/pstest/b:1", config={"Cmd": ["b"]})
    assert a.layers[0].diff_id == b.layers[0].diff_id and a.layers[0].digest != b.layers[0].digest
    assert b.layers[0].media_type.endswith("+gzip")
    results: list[list[Path]] = []
    threads = [threading.Thread(target=lambda img=img: results.append(store.layer_dirs(img)))
               for img in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dirs = {tuple(r) for r in results}
    assert len(dirs) == 1  # one directory for the shared diff, whoever asked first
    assert [p.name for p in store.paths.layers.iterdir() if not p.name.startswith(".")] == [
        a.layers[0].diff_id.removeprefix("sha256:")]


def test_multi_layer_order_and_add_image(store: ImageStore, tmp_path: Path) -> None:
    l1 = _tar(tmp_path / "l1.tar", {"etc/one": b"1", "etc/shared": b"low"})
    l2 = _tar(tmp_path / "l2.tar", {"etc/two": b"2", "etc/shared": b"high"})
    img = store.add_image([l1, l2], {"config": {"Env": ["X=1"]}}, "localhost/pstest/multi:1")
    dirs = store.layer_dirs(img)
    assert [(d / "etc" / "shared").read_bytes() for d in dirs] == [b"low", b"high"]
    assert img.config["rootfs"]["diff_ids"] == [lr.diff_id for lr in img.layers]
    validate("config", img.config)


def test_remove_and_prune_keep_shared(store: ImageStore, busybox_tar: Path, tmp_path: Path) -> None:
    a = store.import_rootfs(busybox_tar, "localhost/pstest/a:1")
    extra = _tar(tmp_path / "x.tar", {"x": b"x"})
    b = store.add_image([busybox_tar, extra], {}, "localhost/pstest/b:1")
    store.layer_dirs(a)
    store.layer_dirs(b)
    store.tag("localhost/pstest/a:1", "localhost/pstest/a:2")
    assert store.resolve("localhost/pstest/a:2").manifest_digest == a.manifest_digest
    assert store.remove("localhost/pstest/a:1") == ["Untagged: localhost/pstest/a:1"]
    out = store.remove("localhost/pstest/a:2")
    assert out[0] == "Untagged: localhost/pstest/a:2" and out[1] == f"Deleted: {a.id}"
    assert not store.exists("localhost/pstest/a:2")
    assert not store.content.has(a.manifest_digest) and not store.content.has(a.config_digest)
    # the busybox layer is still b's lowest layer: its blob and directory stay
    assert store.content.has(b.layers[0].digest) and store.layer_dirs(b)[0].is_dir()
    store.acquire(b, "ctr-1")
    with pytest.raises(ImageError, match="in use by container ctr-1"):
        store.remove("localhost/pstest/b:1")
    assert store.remove("localhost/pstest/b:1", force=True) == ["Untagged: localhost/pstest/b:1"]
    assert store.prune() == []  # dangling but held
    assert store.resolve(b.short_id).manifest_digest == b.manifest_digest
    store.release("ctr-1")
    assert store.prune() == [f"Deleted: {b.id}"]
    assert [p for p in store.paths.layers.iterdir() if not p.name.startswith(".")] == []
    assert list(store.content.digests()) == []


def test_errors_are_one_line(store: ImageStore, tmp_path: Path) -> None:
    with pytest.raises(ImageError, match='image "nothere:1" not found locally; pull it or build it'):
        store.resolve("nothere:1")
    with pytest.raises(ImageError, match="no such file"):
        store.import_rootfs(tmp_path / "missing.tar", "x:1")
    with pytest.raises(ImageError, match="invalid image reference"):
        store.import_rootfs(_tar(tmp_path / "t.tar", {"a": b""}), "Bad:Name:x")
    assert not store.exists("Bad::")


def test_prune_sweeps_what_a_crash_left(store: ImageStore, busybox_tar: Path) -> None:
    img = store.import_rootfs(busybox_tar, "localhost/pstest/a:1")
    store.layer_dirs(img)
    f, stale_blob = store.content.temp_file()
    f.close()
    stale_layer = store.paths.layers / ".tmp-deadbeef-1"
    (stale_layer / "etc").mkdir(parents=True)
    f, fresh_blob = store.content.temp_file()  # could be a pull in progress: too young to touch
    f.close()
    for p in (stale_blob, stale_layer):
        os.utime(p, (0, 0))
    assert store.prune() == []
    assert not stale_blob.exists() and not stale_layer.exists() and fresh_blob.exists()
    assert store.layer_dirs(img)[0].is_dir()
    fresh_blob.unlink()
