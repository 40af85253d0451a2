"""load/save round trips, and interop with skopeo and podman (each with private storage)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.errors import ImageError
from orchestrator.images import base_images
from orchestrator.images.store import ImageStore
from orchestrator.paths import Paths
from tests.unit.images.schemas import validate

pytestmark = pytest.mark.root

PODMAN_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def run(*cmd: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, f"{cmd[0]} failed: {proc.stderr.strip()}"
    return proc.stdout


@pytest.fixture
def other_store(tmp_path: Path) -> Iterator[ImageStore]:
    s = ImageStore(Paths(tmp_path / "other-root"))
    try:
        yield s
    finally:
        s.close()


@pytest.mark.parametrize("name", ["img.tar", "img.tar.gz", "layout-dir"])
@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_load_round_trip(store: ImageStore, other_store: ImageStore, tmp_path: Path, fmt: str,
                              name: str) -> None:
    if fmt == "docker" and name == "layout-dir":
        name = "img2.tar"
    img = base_images.build_busybox(store)
    store.tag("busybox", "localhost:5301/pstest/bb:v1")
    out = tmp_path / name
    store.save(["busybox", "localhost:5301/pstest/bb:v1"], out, format=fmt)  # type: ignore[arg-type]
    if fmt == "oci":
        layout = out if out.is_dir() else None
        if layout is None:
            layout = tmp_path / "unpacked"
            with tarfile.open(out) as tf:
                tf.extractall(layout, filter="data")
        index = json.loads((layout / "index.json").read_text())
        validate("index", index)
        validate("layout", json.loads((layout / "oci-layout").read_text()))
        for d in index["manifests"]:
            validate("manifest", json.loads((layout / "blobs/sha256" / d["digest"][7:]).read_text()))
    loaded = other_store.load(out)
    assert {i.id for i in loaded} == {img.id}
    assert other_store.resolve("busybox").id == img.id
    assert other_store.resolve("localhost:5301/pstest/bb:v1").id == img.id
    (layer,) = other_store.layer_dirs(other_store.resolve("busybox"))
    assert (layer / "bin" / "busybox").is_file()


def test_skopeo_reads_what_we_save_and_we_read_what_it_writes(store: ImageStore, other_store: ImageStore,
                                                              tmp_path: Path) -> None:
    img = base_images.build_busybox(store)
    store.save(["busybox"], tmp_path / "a.tar", format="oci")
    store.save(["busybox"], tmp_path / "b.tar", format="docker")
    run("skopeo", "copy", f"oci-archive:{tmp_path}/a.tar", f"dir:{tmp_path}/d1")
    run("skopeo", "copy", f"docker-archive:{tmp_path}/b.tar", f"dir:{tmp_path}/d2")
    for d in ("d1", "d2"):
        assert (tmp_path / d / img.config_digest[7:]).is_file()
        assert (tmp_path / d / img.layers[0].digest[7:]).is_file()
    # the other way: skopeo writes (gzip layers, its own manifests), pystack loads
    run("skopeo", "copy", f"oci-archive:{tmp_path}/a.tar", f"oci:{tmp_path}/sk-oci:localhost/pstest/x:1")
    run("skopeo", "copy", f"oci-archive:{tmp_path}/a.tar",
        f"docker-archive:{tmp_path}/sk.tar:localhost/pstest/y:2")
    (x,) = other_store.load(tmp_path / "sk-oci")
    (y,) = other_store.load(tmp_path / "sk.tar")
    assert x.id == y.id == img.id
    assert x.layers[0].media_type.endswith("gzip")
    assert other_store.resolve("localhost/pstest/x:1").id == img.id
    assert other_store.resolve("localhost/pstest/y:2").manifest_digest == y.manifest_digest
    assert (other_store.layer_dirs(x)[0] / "bin" / "busybox").is_file()


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman not installed")
def test_podman_loads_what_we_save_and_saves_what_we_load(store: ImageStore, other_store: ImageStore,
                                                          tmp_path: Path) -> None:
    img = base_images.build_busybox(store)
    conf = tmp_path / "containers.conf"
    conf.write_text(PODMAN_CONF)
    env = {"CONTAINERS_CONF": str(conf), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    prun = Path(tempfile.mkdtemp(prefix="pstest-prun-"))  # podman wants a runroot under 50 characters
    podman = ["podman", "--root", str(tmp_path / "proot"), "--runroot", str(prun), "--storage-driver", "vfs"]
    try:
        store.save(["busybox"], tmp_path / "a.tar", format="oci")
        store.save(["busybox"], tmp_path / "b.tar", format="docker")
        loaded = run(*podman, "load", "-i", str(tmp_path / "a.tar"), env=env)
        assert "docker.io/library/busybox:latest" in loaded
        run(*podman, "load", "-i", str(tmp_path / "b.tar"), env=env)
        ids = run(*podman, "images", "--no-trunc", "--format", "{{.ID}}", env=env).split()
        assert {i.removeprefix("sha256:") for i in ids} == {img.id.removeprefix("sha256:")}
        run(*podman, "save", "--format", "oci-archive", "-o", str(tmp_path / "p.tar"),
            "docker.io/library/busybox:latest", env=env)
        (back,) = other_store.load(tmp_path / "p.tar")
        # podman rewrites the config (so the id changes) but the filesystem and settings are ours
        assert back.config["rootfs"]["diff_ids"] == img.config["rootfs"]["diff_ids"]
        assert back.container_config["Cmd"] == ["sh"]
    finally:
        subprocess.run([*podman, "system", "reset", "--force"], capture_output=True, env=env, timeout=60)
        shutil.rmtree(tmp_path / "proot", ignore_errors=True)
        shutil.rmtree(prun, ignore_errors=True)


def test_bad_archives_fail_in_one_line(store: ImageStore, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(ImageError, match="not a valid"):
        store.load(junk)
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    with pytest.raises(ImageError, match="neither a docker-save archive"):
        store.load(empty)
    # a blob whose bytes do not match its name is refused and nothing is recorded
    base_images.build_busybox(store)
    store.save(["busybox"], tmp_path / "lay", format="oci")
    store.remove("busybox")
    index = json.loads((tmp_path / "lay" / "index.json").read_text())
    man = json.loads((tmp_path / "lay/blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text())
    (tmp_path / "lay/blobs/sha256" / man["layers"][0]["digest"][7:]).write_bytes(b"tampered")
    with pytest.raises(ImageError, match="does not match its digest"):
        store.load(tmp_path / "lay")
    assert store.list() == []
    with pytest.raises(ImageError, match="no such file"):
        store.load(tmp_path / "nothing-here")


def test_layout_symlink_out_of_the_directory_is_refused(store: ImageStore, tmp_path: Path) -> None:
    """A layout whose blob is a symlink to a host file must not pull that file into the store."""
    from orchestrator.images.content import sha256_file

    base_images.build_busybox(store)
    lay = tmp_path / "lay"
    store.save(["busybox"], lay, format="oci")
    store.remove("busybox")
    index = json.loads((lay / "index.json").read_text())
    host_file = tmp_path / "outside-secret"
    host_file.write_text("secret\n")
    digest, size = sha256_file(host_file)
    man_path = lay / "blobs/sha256" / index["manifests"][0]["digest"][7:]
    man = json.loads(man_path.read_text())
    man["layers"][0] = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": size}
    data = json.dumps(man).encode()
    from orchestrator.images.content import sha256_bytes

    new = sha256_bytes(data)
    (lay / "blobs/sha256" / new[7:]).write_bytes(data)
    (lay / "blobs/sha256" / digest[7:]).symlink_to(host_file)
    index["manifests"][0].update(digest=new, size=len(data))
    (lay / "index.json").write_text(json.dumps(index))
    with pytest.raises(ImageError, match="points outside the image directory"):
        store.load(lay)
    assert not store.content.has(digest)


def test_docker_archive_with_symlinked_layers(store: ImageStore, other_store: ImageStore, tmp_path: Path) -> None:
    """docker >= 25 writes layer.tar as a symlink to an OCI blob inside the archive."""
    img = base_images.build_busybox(store)
    store.save(["busybox"], tmp_path / "a.tar", format="docker")
    src = tmp_path / "x"
    with tarfile.open(tmp_path / "a.tar") as tf:
        tf.extractall(src, filter="data")
    hexid = img.layers[0].diff_id[7:]
    blob = src / "blobs" / "sha256" / hexid
    blob.parent.mkdir(parents=True)
    (src / hexid / "layer.tar").rename(blob)
    (src / hexid / "layer.tar").symlink_to(f"../blobs/sha256/{hexid}")
    out = tmp_path / "b.tar"
    subprocess.run(["tar", "-C", str(src), "-cf", str(out), "."], check=True)
    (loaded,) = other_store.load(out)
    assert loaded.id == img.id and other_store.resolve("busybox").id == img.id
