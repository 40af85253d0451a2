"""A small OCI distribution client on ``http.client``: /v2/ check, basic and bearer auth, blobs, manifests.

Standard library only, so a pull costs no import of a big HTTP stack. One keep-alive connection
per thread (layers are fetched by several threads at once). TLS is verified always; plain HTTP
is used only for loopback registries, for those listed in ``PYSTACK_INSECURE_REGISTRIES``
(comma-separated ``host[:port]``), or when the caller says ``insecure``; for those HTTPS is tried
first, as docker does. Loopback registries are asked over HTTP first (they nearly always are).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from orchestrator.errors import ImageError
from orchestrator.images.auth import Credentials, credentials_for

USER_AGENT = "pystack/0.1"
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


def is_loopback(domain: str) -> bool:
    host = domain.rsplit(":", 1)[0] if not domain.startswith("[") else domain.split("]")[0] + "]"
    return host in ("localhost", "[::1]") or host.startswith("127.")


def insecure_allowed(domain: str, insecure: bool = False) -> bool:
    listed = {s.strip() for s in os.environ.get("PYSTACK_INSECURE_REGISTRIES", "").split(",") if s.strip()}
    return insecure or is_loopback(domain) or domain in listed or domain.rsplit(":", 1)[0] in listed


def api_host(domain: str) -> str:
    return "registry-1.docker.io" if domain == "docker.io" else domain


class Response:
    """A finished or streaming HTTP response; ``close`` returns the connection for reuse."""

    def __init__(self, resp: http.client.HTTPResponse, conn: http.client.HTTPConnection, keep: bool) -> None:
        self.raw = resp
        self.status = resp.status
        self.headers = resp.headers
        self._conn = conn
        self._keep = keep

    def read(self) -> bytes:
        try:
            return self.raw.read()
        finally:
            self.close()

    def stream(self) -> BinaryIO:
        return self.raw

    def close(self) -> None:
        if not self.raw.isclosed():
            self.raw.read()
        if not self._keep:
            self._conn.close()


class RegistryClient:
    def __init__(self, domain: str, *, insecure: bool = False, credentials: Credentials | None = None,
                 timeout: float = 60.0) -> None:
        self.domain = domain
        self.host = api_host(domain)
        self.allow_http = insecure_allowed(domain, insecure)
        self.credentials = credentials if credentials is not None else credentials_for(domain)
        self.timeout = timeout
        self.scheme: str | None = None
        self._local = threading.local()
        self._tokens: dict[str, str] = {}
        self._challenge: tuple[str, dict[str, str]] | None = None
        self._lock = threading.Lock()
        self._ping_lock = threading.Lock()

    # -- connections ------------------------------------------------------------------------
    def _new_conn(self, scheme: str, host: str) -> http.client.HTTPConnection:
        if scheme == "https":
            return http.client.HTTPSConnection(host, timeout=self.timeout, context=ssl.create_default_context())
        return http.client.HTTPConnection(host, timeout=self.timeout)

    def _conn(self) -> http.client.HTTPConnection:
        assert self.scheme is not None
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._new_conn(self.scheme, self.host)
            self._local.conn = conn
        return conn

    def _send(self, method: str, url: str, headers: dict[str, str], body: BinaryIO | bytes | None,
              ) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection, bool]:
        parsed = urllib.parse.urlsplit(url)
        own = not parsed.netloc or parsed.netloc == self.host
        path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
        hdrs = {"User-Agent": USER_AGENT, **headers}
        for attempt in (0, 1):
            conn = self._conn() if own else self._new_conn(parsed.scheme, parsed.netloc)
            try:
                conn.request(method, path, body=body, headers=hdrs)
                return conn.getresponse(), conn, own
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if attempt or (body is not None and not isinstance(body, bytes)):
                    raise
        raise AssertionError("unreachable")

    def ping(self) -> None:
        """GET /v2/ to learn the scheme and the auth challenge; fails with one clear line."""
        with self._ping_lock:
            if self.scheme is None:
                self._ping()

    def _ping(self) -> None:
        # Loopback registries are nearly always plain HTTP: asking that first saves a TLS set-up
        # (~30 ms) per command, and a TLS registry answers it with 400, which sends us to HTTPS.
        schemes = ["https", "http"] if self.allow_http else ["https"]
        if is_loopback(self.domain):
            schemes = ["http", "https"]
        last: Exception | None = None
        for scheme in schemes:
            conn = self._new_conn(scheme, self.host)
            try:
                conn.request("GET", "/v2/", headers={"User-Agent": USER_AGENT})
                resp = conn.getresponse()
                resp.read()
            except (ssl.SSLError, OSError, http.client.HTTPException) as exc:
                last = exc
                continue
            finally:
                conn.close()
            if scheme == "http" and resp.status == 400 and "https" in schemes[1:]:
                last = ImageError("plain HTTP refused")
                continue
            if resp.status == 401:
                self._set_challenge(resp.headers.get("WWW-Authenticate", ""))
            elif resp.status != 200:
                raise ImageError(f"{self.domain} is not an OCI registry (GET /v2/ answered {resp.status})")
            self.scheme = scheme
            return
        hint = "" if self.allow_http else " (for a plain-HTTP registry add it to PYSTACK_INSECURE_REGISTRIES)"
        raise ImageError(f"cannot reach registry {self.domain}: {last}{hint}")

    # -- auth -------------------------------------------------------------------------------
    def _set_challenge(self, header: str) -> None:
        kind, _, rest = header.partition(" ")
        self._challenge = (kind.lower(), dict(_CHALLENGE.findall(rest)))

    def _token(self, scope: str) -> str:
        with self._lock:
            if scope in self._tokens:
                return self._tokens[scope]
        assert self._challenge is not None
        params = self._challenge[1]
        realm = params.get("realm")
        if not realm:
            raise ImageError(f"registry {self.domain} asked for a bearer token without a realm")
        query = [("service", params["service"])] if params.get("service") else []
        query += [("scope", one) for one in scope.split()]  # several scopes: one parameter each
        if self.credentials:
            query.append(("account", self.credentials.username))
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        headers = {"Authorization": self.credentials.basic_header()} if self.credentials else {}
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "https" and not insecure_allowed(parsed.netloc):
            raise ImageError(f"refusing to send credentials to token server {parsed.netloc} over plain HTTP")
        conn = self._new_conn(parsed.scheme, parsed.netloc)
        try:
            conn.request("GET", parsed.path + "?" + parsed.query, headers={"User-Agent": USER_AGENT, **headers})
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise ImageError(f"cannot reach token server {parsed.netloc}: {exc}") from None
        finally:
            conn.close()
        if resp.status in (401, 403):
            who = f"as {self.credentials.username}" if self.credentials else "anonymously"
            raise ImageError(f"{self.domain}: login refused {who} (token server answered {resp.status});"
                             f" run: pystack login {self.domain}")
        try:
            doc = json.loads(body)
            token = str(doc.get("token") or doc["access_token"])
        except (ValueError, KeyError):
            raise ImageError(f"token server {parsed.netloc} answered {resp.status} without a token") from None
        with self._lock:
            self._tokens[scope] = token
        return token

    def _auth_header(self, scope: str) -> dict[str, str]:
        if self._challenge is None:
            return {}
        kind = self._challenge[0]
        if kind == "basic":
            if self.credentials is None:
                raise ImageError(f"{self.domain} requires a login: run pystack login {self.domain}")
            return {"Authorization": self.credentials.basic_header()}
        if kind == "bearer":
            return {"Authorization": "Bearer " + self._token(scope)}
        if not kind:
            raise ImageError(f"{self.domain}: answered 401 without an authentication challenge")
        raise ImageError(f"{self.domain}: unsupported authentication scheme {kind!r}")

    def check_login(self) -> None:
        """Prove the credentials work: the /v2/ check with them (or a token for no scope)."""
        self.ping()
        if self._challenge is None:
            return
        if self._challenge[0] == "bearer":
            self._token("")
            return
        self.request("GET", "/v2/", scope="")

    # -- requests ---------------------------------------------------------------------------
    def request(self, method: str, url: str, *, scope: str, headers: dict[str, str] | None = None,
                body: BinaryIO | bytes | None = None, ok: tuple[int, ...] = (200,),
                redirects: int = 5) -> Response:
        self.ping()
        hdrs = dict(headers or {})
        resp, conn, own = self._send(method, url, {**hdrs, **(self._auth_header(scope) if own_url(url, self.host)
                                                              else {})}, body)
        if resp.status == 401 and own and (body is None or isinstance(body, bytes)):
            resp.read()
            self._set_challenge(resp.headers.get("WWW-Authenticate", ""))
            with self._lock:
                self._tokens.pop(scope, None)
            resp, conn, own = self._send(method, url, {**hdrs, **self._auth_header(scope)}, body)
        if resp.status in (301, 302, 303, 307, 308) and redirects > 0 and method in ("GET", "HEAD"):
            location = resp.headers.get("Location", "")
            resp.read()
            return self.request(method, self.absolute(location), scope=scope, headers=headers, ok=ok,
                                redirects=redirects - 1)
        r = Response(resp, conn, own and not resp.will_close)
        if resp.status not in ok:
            raise ImageError(self.failure(method, url, r))
        return r

    def absolute(self, location: str) -> str:
        if location.startswith(("http://", "https://")):
            return location
        return f"{self.scheme}://{self.host}{location if location.startswith('/') else '/' + location}"

    def failure(self, method: str, url: str, r: Response) -> str:
        """One line for a request the registry refused, with its own words when it gave any."""
        body = r.read() if method != "HEAD" else b""
        detail = ""
        try:
            errs = json.loads(body).get("errors") or []
            detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errs)
        except (ValueError, AttributeError):
            detail = body[:200].decode(errors="replace").strip()
        path = urllib.parse.urlsplit(url).path
        if r.status in (401, 403):
            return f"{self.domain}: access denied to {path} ({detail or r.status}); run: pystack login {self.domain}"
        return f"{self.domain}: {method} {path} failed with {r.status}" + (f" ({detail})" if detail else "")

    def has_blob(self, name: str, digest: str, scope: str) -> bool:
        head = self.request("HEAD", f"/v2/{name}/blobs/{digest}", scope=scope, ok=(200, 404))
        head.close()
        return head.status == 200

    def upload_blob(self, name: str, digest: str, body: BinaryIO | bytes, size: int, scope: str,
                    location: str | None = None) -> None:
        """A monolithic upload (POST, then one PUT ``?digest=``), into ``location`` when a declined
        mount has already opened one."""
        if location is None:
            start = self.request("POST", f"/v2/{name}/blobs/uploads/", scope=scope, ok=(202,), body=b"")
            location = start.headers.get("Location")
            start.close()
        if not location:
            raise ImageError(f"{self.domain}: upload started without a Location")
        url = self.absolute(location)
        url += ("&" if "?" in url else "?") + f"digest={digest}"
        self.request("PUT", url, scope=scope, ok=(201, 204), body=body,
                     headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)}).close()

    @contextmanager
    def blob(self, name: str, digest: str) -> Iterator[BinaryIO]:
        r = self.request("GET", f"/v2/{name}/blobs/{digest}", scope=f"repository:{name}:pull")
        try:
            yield r.stream()
        finally:
            r.close()


def own_url(url: str, host: str) -> bool:
    netloc = urllib.parse.urlsplit(url).netloc
    return not netloc or netloc == host
