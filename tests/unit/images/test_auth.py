"""Credentials read where docker and podman keep them; login writes docker's file safely."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from orchestrator.images import auth
from orchestrator.images.auth import Credentials


@pytest.fixture
def cfgdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    return tmp_path / "docker"


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def test_docker_config_forms(cfgdir: Path) -> None:
    cfgdir.mkdir()
    (cfgdir / "config.json").write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": _b64("hub:pw1")},
        "https://reg.example:5000": {"auth": _b64("u:p:with:colons")},
        "plain.example": {"username": "a", "password": "b"},
    }, "other": {"keep": True}}))
    assert auth.credentials_for("docker.io") == Credentials("hub", "pw1")
    assert auth.credentials_for("reg.example:5000") == Credentials("u", "p:with:colons")
    assert auth.credentials_for("plain.example") == Credentials("a", "b")
    assert auth.credentials_for("nowhere.example") is None


def test_podman_auth_file_is_read(cfgdir: Path, tmp_path: Path) -> None:
    f = tmp_path / "run" / "containers" / "auth.json"
    f.parent.mkdir(parents=True)
    f.write_text(json.dumps({"auths": {"localhost:5301": {"auth": _b64("p:q")}}}))
    assert auth.credentials_for("localhost:5301") == Credentials("p", "q")


def test_store_credentials_keeps_other_keys_and_is_private(cfgdir: Path) -> None:
    cfgdir.mkdir()
    (cfgdir / "config.json").write_text(json.dumps({"auths": {"x.example": {"auth": _b64("x:y")}},
                                                    "psFormat": "table"}))
    path = auth.store_credentials("localhost:5301", Credentials("me", "secret"))
    doc = json.loads(path.read_text())
    assert doc["psFormat"] == "table" and "x.example" in doc["auths"]
    assert auth.credentials_for("localhost:5301") == Credentials("me", "secret")
    assert path.stat().st_mode & 0o777 == 0o600
    auth.store_credentials("docker.io", Credentials("hub", "h"))
    assert "https://index.docker.io/v1/" in json.loads(path.read_text())["auths"]
    assert Credentials("a", "b").basic_header() == "Basic " + _b64("a:b")


def test_broken_config_is_one_line(cfgdir: Path) -> None:
    from orchestrator.errors import ImageError

    cfgdir.mkdir()
    (cfgdir / "config.json").write_text("{not json")
    with pytest.raises(ImageError, match="cannot read credentials"):
        auth.credentials_for("docker.io")
