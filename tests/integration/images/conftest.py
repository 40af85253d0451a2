"""Fixtures for image tests: a store in a private root, and a busybox rootfs tar to import."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from orchestrator.images.base_images import busybox_rootfs_tar
from orchestrator.images.store import ImageStore
from orchestrator.paths import Paths


@pytest.fixture
def store(pystack_root: Path) -> Iterator[ImageStore]:
    s = ImageStore(Paths(pystack_root))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bbtar") / "rootfs.tar"
    busybox_rootfs_tar(out)
    return out


# -- a real registry (Debian's docker-registry) on 127.0.0.1:5301-5319, killed in finally ----------


PORTS = range(5301, 5320)
USER, PASSWORD = "pstest", "s3cret-pw"


def free_port(exclude: frozenset[int] = frozenset()) -> int:
    for port in PORTS:
        if port in exclude:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 5301-5319")


@dataclass
class RegistryServer:
    host: str  # "localhost:53xx"
    proc: subprocess.Popen[bytes]
    root: Path


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text()[-500:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError("docker-registry did not start")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """A token server as distribution's token auth expects: RS256 JWTs with the cert in x5c."""

    def __init__(self, workdir: Path) -> None:
        self.key = workdir / "token.key"
        self.cert = workdir / "token.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.key),
                        "-out", str(self.cert), "-days", "2", "-subj", "/CN=pstest-token"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.requests: list[str] = []

    def token(self, service: str, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": "pstest-issuer", "sub": USER, "aud": service, "exp": now + 600, "nbf": now - 10,
                  "iat": now, "jti": str(now) + str(len(self.requests)), "access": access}
        signing = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)], input=signing.encode(),
                             check=True, capture_output=True).stdout
        return signing + "." + _b64url(sig)

    def serve(self, port: int) -> ThreadingHTTPServer:
        issuer = self
        good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                q = parse_qs(urlsplit(self.path).query)
                issuer.requests.append(self.path)
                if self.headers.get("Authorization") != good:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": issuer.token(q["service"][0], q.get("scope") or [])})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        return srv


def start_registry(workdir: Path, auth: str) -> tuple[RegistryServer, ThreadingHTTPServer | None]:
    port = free_port()
    cfg = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true",
           "storage:", "  filesystem:", f"    rootdirectory: {workdir / 'data'}",
           "http:", f"  addr: 127.0.0.1:{port}"]
    token_srv = None
    if auth == "htpasswd":
        pw = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True)
        (workdir / "htpasswd").write_text(pw.stdout)
        cfg += ["auth:", "  htpasswd:", "    realm: pstest", f"    path: {workdir / 'htpasswd'}"]
    elif auth == "token":
        issuer = TokenIssuer(workdir)
        tport = free_port(frozenset({port}))
        token_srv = issuer.serve(tport)
        cfg += ["auth:", "  token:", f"    realm: http://127.0.0.1:{tport}/token", "    service: pstest-registry",
                "    issuer: pstest-issuer", f"    rootcertbundle: {issuer.cert}"]
    (workdir / "config.yml").write_text("\n".join(cfg) + "\n")
    log = workdir / "registry.log"
    with open(log, "wb") as lf:
        proc = subprocess.Popen(["docker-registry", "serve", str(workdir / "config.yml")], stdout=lf,
                                stderr=subprocess.STDOUT)
    try:
        _wait_port(port, proc, log)
    except BaseException:
        proc.kill()
        proc.wait()
        if token_srv:
            token_srv.shutdown()
        raise
    return RegistryServer(f"localhost:{port}", proc, workdir), token_srv


def _registry_fixture(tmp_path: Path, auth: str) -> Iterator[RegistryServer]:
    workdir = tmp_path / f"registry-{auth}"
    workdir.mkdir()
    reg, token_srv = start_registry(workdir, auth)
    try:
        yield reg
    finally:
        reg.proc.terminate()
        try:
            reg.proc.wait(5)
        except subprocess.TimeoutExpired:
            reg.proc.kill()
            reg.proc.wait()
        if token_srv is not None:
            token_srv.shutdown()
            token_srv.server_close()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryServer]:
    yield from _registry_fixture(tmp_path, "none")


@pytest.fixture
def htpasswd_registry(tmp_path: Path) -> Iterator[RegistryServer]:
    yield from _registry_fixture(tmp_path, "htpasswd")


@pytest.fixture
def token_registry(tmp_path: Path) -> Iterator[RegistryServer]:
    yield from _registry_fixture(tmp_path, "token")


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ~/.docker for pystack login and for reading credentials."""
    d = tmp_path / "docker-config"
    d.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(d))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return d
