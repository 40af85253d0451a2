"""Registry credentials where Docker and podman keep them, and ``pystack login`` writing them.

Read order: ``$DOCKER_CONFIG/config.json`` (or ``~/.docker/config.json``), its credential helpers
(``credHelpers``/``credsStore``, run as ``docker-credential-NAME get``), then podman's
``$REGISTRY_AUTH_FILE`` or ``$XDG_RUNTIME_DIR/containers/auth.json``. We write only the Docker file,
as docker does, with mode 0600 and every other key kept.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import ImageError

DOCKER_HUB_KEY = "https://index.docker.io/v1/"


@dataclass(frozen=True)
class Credentials:
    """A registry login, as config.json stores it and as a Basic header sends it."""
    username: str
    password: str

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def podman_auth_path() -> Path | None:
    if os.environ.get("REGISTRY_AUTH_FILE"):
        return Path(os.environ["REGISTRY_AUTH_FILE"])
    run = os.environ.get("XDG_RUNTIME_DIR")
    return Path(run) / "containers" / "auth.json" if run else None


def _keys(domain: str) -> list[str]:
    if domain in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        return [DOCKER_HUB_KEY, "index.docker.io", "docker.io", "registry-1.docker.io"]
    return [domain, f"https://{domain}", f"http://{domain}", f"https://{domain}/v1/", f"https://{domain}/v2/"]


def _read(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ImageError(f"cannot read credentials from {path}: {exc}") from None
    return doc if isinstance(doc, dict) else {}


def _from_entry(entry: Any) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("auth"):
        try:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return Credentials(user, password)
    if entry.get("username") and entry.get("password"):
        return Credentials(str(entry["username"]), str(entry["password"]))
    return None


def _helper(name: str, domain: str) -> Credentials | None:
    exe = shutil.which(f"docker-credential-{name}")
    if exe is None:
        return None
    for key in _keys(domain)[:2]:
        proc = subprocess.run([exe, "get"], input=key, capture_output=True, text=True, timeout=30)
        if proc.returncode == 0:
            try:
                doc = json.loads(proc.stdout)
                return Credentials(doc["Username"], doc["Secret"])
            except (json.JSONDecodeError, KeyError):
                return None
    return None


def credentials_for(domain: str) -> Credentials | None:
    cfg = _read(docker_config_path())
    helper = (cfg.get("credHelpers") or {}).get(domain) or cfg.get("credsStore")
    if helper:
        found = _helper(str(helper), domain)
        if found:
            return found
    for doc in (cfg, _read(podman_auth_path())):
        auths = doc.get("auths") or {}
        for key in _keys(domain):
            found = _from_entry(auths.get(key))
            if found:
                return found
    return None


def store_credentials(domain: str, creds: Credentials) -> Path:
    """Write ``creds`` for ``domain`` into the Docker config file, atomically, readable by us only."""
    path = docker_config_path()
    cfg = _read(path)
    auths = cfg.setdefault("auths", {})
    key = _keys(domain)[0]
    auths[key] = {"auth": base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f, indent="\t")
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
