"""What pystack authors (manifest, index, config, layout) validates against the OCI schemas."""

from __future__ import annotations

import jsonschema
import pytest

from orchestrator.images import manifest as mf
from tests.unit.images.schemas import validate

D = "sha256:" + "b" * 64


def test_built_documents_validate() -> None:
    cfg = mf.complete_config({"config": {"Env": ["A=1"], "Cmd": ["sh"], "ExposedPorts": {"80/tcp": {}}}}, [D])
    validate("config", cfg)
    man = mf.build_manifest(mf.descriptor(mf.OCI_CONFIG, D, 10), [mf.descriptor(mf.OCI_LAYER_GZIP, D, 5)],
                            {mf.ANNOTATION_REF_NAME: "x"})
    validate("manifest", man)
    idx = mf.build_index([mf.descriptor(mf.OCI_MANIFEST, D, 7, annotations={mf.ANNOTATION_REF_NAME: "a:b"},
                                        platform={"os": "linux", "architecture": "amd64"})])
    validate("index", idx)
    validate("layout", {"imageLayoutVersion": "1.0.0"})


def test_validator_rejects_broken_documents() -> None:
    """The harness must be able to fail, or passing it proves nothing."""
    with pytest.raises(jsonschema.ValidationError):
        validate("manifest", {"schemaVersion": 2, "config": {"mediaType": mf.OCI_CONFIG, "digest": "nope",
                                                             "size": 1}, "layers": []})
    with pytest.raises(jsonschema.ValidationError):
        validate("config", {"architecture": "amd64", "os": "linux", "created": "yesterday",
                            "rootfs": {"type": "layers", "diff_ids": []}})
    with pytest.raises(jsonschema.ValidationError):
        validate("layout", {})


def test_platform_choice() -> None:
    idx = {"manifests": [
        {"mediaType": mf.OCI_MANIFEST, "digest": "sha256:" + "1" * 64, "size": 1,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": mf.DOCKER_MANIFEST, "digest": "sha256:" + "2" * 64, "size": 1,
         "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": "application/vnd.in-toto+json", "digest": "sha256:" + "3" * 64, "size": 1,
         "platform": {"os": "unknown", "architecture": "unknown"}},
    ]}
    assert mf.choose_manifest(idx, mf.parse_platform("linux/amd64"))["digest"].endswith("2" * 64)
    assert mf.choose_manifest(idx, mf.parse_platform("linux/arm64"))["digest"].endswith("1" * 64)
    assert mf.choose_manifest(idx, mf.parse_platform("arm64"))["digest"].endswith("1" * 64)
    from orchestrator.errors import ImageError

    with pytest.raises(ImageError, match="no image for platform linux/s390x"):
        mf.choose_manifest(idx, mf.parse_platform("linux/s390x"))
    with pytest.raises(ImageError, match="invalid platform"):
        mf.parse_platform("a/b/c/d")
