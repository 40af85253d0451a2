"""pull/push against a real docker-registry on 127.0.0.1, cross-checked with skopeo."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import ImageError
from orchestrator.images import base_images, distribution
from orchestrator.images import manifest as mf
from orchestrator.images.content import sha256_bytes
from orchestrator.images.progress import LineProgress
from orchestrator.images.store import ImageStore
from orchestrator.paths import Paths
from tests.integration.images.conftest import PASSWORD, USER, RegistryServer

pytestmark = pytest.mark.root


def skopeo(*args: str) -> str:
    proc = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"skopeo {args[0]} failed: {proc.stderr.strip()}"
    return proc.stdout


def _layer(path: Path, name: str, size: int) -> Path:
    with tarfile.open(path, "w") as tf:
        ti = tarfile.TarInfo(name)
        ti.size = size
        import io

        tf.addfile(ti, io.BytesIO(bytes(range(256)) * (size // 256)))
    return path


@pytest.fixture
def other(tmp_path: Path) -> ImageStore:
    return ImageStore(Paths(tmp_path / "other-root"))


def test_push_then_skopeo_and_pystack_pull_same_digests(store: ImageStore, other: ImageStore, registry: RegistryServer,
                                                        tmp_path: Path) -> None:
    img = base_images.build_busybox(store)
    ref = f"{registry.host}/pstest/bb:1"
    store.tag("busybox", ref)
    lines: list[str] = []
    store.push(ref, progress=lines.append)
    assert any("pushed" in ln for ln in lines)
    out = tmp_path / "skopeo-dir"
    skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"dir:{out}")
    assert sha256_bytes((out / "manifest.json").read_bytes()) == img.manifest_digest
    assert (out / img.config_digest[7:]).is_file() and (out / img.layers[0].digest[7:]).is_file()
    pulled = other.pull(ref)
    assert (pulled.manifest_digest, pulled.id) == (img.manifest_digest, img.id)
    assert other.resolve(ref).id == img.id
    # a second push finds every blob already there; a second pull fetches no layer
    again: list[str] = []
    store.push(ref, progress=again.append)
    assert all("pushing" not in ln for ln in again) and any("already exists" in ln for ln in again)
    seen: list[str] = []
    other.pull(ref, progress=LineProgress(seen.append))
    assert f"{img.layers[0].digest[7:19]}: already exists" in seen


@pytest.mark.parametrize("fmt", ["oci", "v2s2", "oci-zstd"])
def test_skopeo_push_pystack_pull(store: ImageStore, other: ImageStore, registry: RegistryServer, tmp_path: Path,
                                  fmt: str) -> None:
    layers = [_layer(tmp_path / f"l{i}.tar", f"f{i}", 256 * 1024 * (i + 1)) for i in range(3)]
    img = store.add_image(layers, {"config": {"Cmd": ["x"]}}, "localhost/pstest/multi:1")
    store.save(["localhost/pstest/multi:1"], tmp_path / "lay", format="oci")
    ref = f"{registry.host}/pstest/multi-{fmt}:1"
    compress = ["--dest-compress-format", "zstd"] if fmt == "oci-zstd" else []
    skopeo("copy", "--dest-tls-verify=false", "--dest-compress", *compress, "--format", fmt.split("-")[0],
           f"oci:{tmp_path / 'lay'}", f"docker://{ref}")
    raw = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{ref}").encode()
    pulled = other.pull(ref)
    assert pulled.manifest_digest == sha256_bytes(raw)
    assert pulled.media_type == (mf.DOCKER_MANIFEST if fmt == "v2s2" else mf.OCI_MANIFEST)
    assert [lr.diff_id for lr in pulled.layers] == [lr.diff_id for lr in img.layers]
    assert all(lr.media_type.endswith("zstd" if fmt == "oci-zstd" else "gzip") for lr in pulled.layers)
    dirs = other.layer_dirs(pulled)
    assert [(d / f"f{i}").stat().st_size for i, d in enumerate(dirs)] == [256 * 1024 * (i + 1) for i in range(3)]
    # and back: pystack pushes what it pulled, skopeo reads it with the same digests
    other.tag(ref, f"{registry.host}/pstest/back-{fmt}:2")
    other.push(f"{registry.host}/pstest/back-{fmt}:2")
    raw2 = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{registry.host}/pstest/back-{fmt}:2")
    assert sha256_bytes(raw2.encode()) == pulled.manifest_digest


def _multiarch_layout(store: ImageStore, img_ref: str, out: Path) -> tuple[str, str]:
    """An OCI layout whose index lists amd64 and arm64 manifests (same layer, two configs)."""
    store.save([img_ref], out, format="oci")
    index = json.loads((out / "index.json").read_text())
    amd = index["manifests"][0]
    man = json.loads((out / "blobs/sha256" / amd["digest"][7:]).read_text())
    cfg = json.loads((out / "blobs/sha256" / man["config"]["digest"][7:]).read_text())
    blobs = out / "blobs/sha256"

    def put(doc: dict[str, Any]) -> tuple[str, int]:
        data = mf.canonical_json(doc)
        d = sha256_bytes(data)
        (blobs / d[7:]).write_bytes(data)
        return d, len(data)

    cfg_arm = {**cfg, "architecture": "arm64", "variant": "v8"}
    cd, cs = put(cfg_arm)
    arm_d, arm_s = put({**man, "config": {**man["config"], "digest": cd, "size": cs}})
    entries = [{"mediaType": mf.OCI_MANIFEST, "digest": amd["digest"], "size": amd["size"],
                "platform": {"os": "linux", "architecture": "amd64"}},
               {"mediaType": mf.OCI_MANIFEST, "digest": arm_d, "size": arm_s,
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}]
    idx_d, idx_s = put(mf.build_index(entries))
    top = mf.build_index([{"mediaType": mf.OCI_INDEX, "digest": idx_d, "size": idx_s,
                           "annotations": {mf.ANNOTATION_REF_NAME: "multi"}}])
    (out / "index.json").write_text(json.dumps(top))
    return amd["digest"], arm_d


def test_index_platform_choice(store: ImageStore, other: ImageStore, registry: RegistryServer, tmp_path: Path) -> None:
    base_images.build_busybox(store)
    _multiarch_layout(store, "busybox", tmp_path / "lay")
    ref = f"{registry.host}/pstest/multiarch:1"
    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'lay'}:multi", f"docker://{ref}")
    # skopeo compresses the layers on the way, so take the digests the registry serves
    index = json.loads(skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{ref}"))
    by_arch = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    amd, arm = by_arch["amd64"], by_arch["arm64"]
    host = mf.host_platform()
    if host.architecture in ("amd64", "arm64"):
        assert other.pull(ref).manifest_digest == (amd if host.architecture == "amd64" else arm)
    got = other.pull(ref, platform="linux/arm64")
    assert got.manifest_digest == arm and got.config["architecture"] == "arm64"
    assert other.pull(ref, platform="linux/amd64").manifest_digest == amd
    with pytest.raises(ImageError, match="no image for platform linux/s390x"):
        other.pull(ref, platform="linux/s390x")


def test_htpasswd_registry_needs_login(store: ImageStore, other: ImageStore, htpasswd_registry: RegistryServer,
                                       docker_config: Path) -> None:
    base_images.build_busybox(store)
    ref = f"{htpasswd_registry.host}/pstest/private:1"
    store.tag("busybox", ref)
    with pytest.raises(ImageError, match=f"requires a login: run pystack login {htpasswd_registry.host}"):
        store.push(ref)
    with pytest.raises(ImageError, match="access denied"):
        distribution.login(htpasswd_registry.host, USER, "wrong")
    assert not (docker_config / "config.json").exists()
    path = distribution.login(htpasswd_registry.host, USER, PASSWORD)
    assert (Path(path).stat().st_mode & 0o777) == 0o600
    assert htpasswd_registry.host in json.loads(Path(path).read_text())["auths"]
    store.push(ref)
    assert other.pull(ref).id == store.resolve(ref).id


def test_bearer_token_registry(store: ImageStore, other: ImageStore, token_registry: RegistryServer,
                               docker_config: Path) -> None:
    img = base_images.build_busybox(store)
    ref = f"{token_registry.host}/pstest/tok:1"
    store.tag("busybox", ref)
    with pytest.raises(ImageError, match="login refused anonymously"):
        store.push(ref)
    with pytest.raises(ImageError, match="login refused as pstest"):
        distribution.login(token_registry.host, USER, "wrong")
    distribution.login(token_registry.host, USER, PASSWORD)
    store.push(ref)
    assert other.pull(ref).manifest_digest == img.manifest_digest


def test_plain_http_only_where_allowed(store: ImageStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.images.registry import RegistryClient, insecure_allowed

    monkeypatch.setenv("PYSTACK_INSECURE_REGISTRIES", "reg.example:5000, other.example")
    assert insecure_allowed("localhost:5301") and insecure_allowed("127.0.0.1:5301")
    assert insecure_allowed("reg.example:5000") and insecure_allowed("other.example:443")
    assert not insecure_allowed("docker.io") and not insecure_allowed("reg.example:5001")
    # 127.0.0.2 port 5319 has nothing listening (and https is tried first): one clear line
    with pytest.raises(ImageError, match=r"cannot reach registry 127\.0\.0\.2:5319"):
        RegistryClient("127.0.0.2:5319").ping()
    with pytest.raises(ImageError, match="image \"localhost:5319/none:1\" not found locally"):
        store.push("localhost:5319/none:1")


@pytest.mark.parametrize("auth", ["none", "token"])
def test_push_to_another_repository_mounts_blobs(store: ImageStore, other: ImageStore, tmp_path: Path,
                                                 auth: str, docker_config: Path) -> None:
    from tests.integration.images.conftest import _registry_fixture

    gen = _registry_fixture(tmp_path, auth)
    reg = next(gen)
    try:
        if auth == "token":
            distribution.login(reg.host, USER, PASSWORD)
        img = base_images.build_busybox(store)
        store.tag("busybox", f"{reg.host}/pstest/src:1")
        store.push(f"{reg.host}/pstest/src:1")
        store.tag("busybox", f"{reg.host}/pstest/dst:1")
        lines: list[str] = []
        store.push(f"{reg.host}/pstest/dst:1", progress=lines.append)
        assert f"{img.layers[0].digest[7:19]}: mounted" in lines
        assert all("pushing" not in ln for ln in lines)
        assert other.pull(f"{reg.host}/pstest/dst:1").manifest_digest == img.manifest_digest
    finally:
        gen.close()
