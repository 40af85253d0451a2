"""Image references parsed and normalized exactly as Docker does.

``busybox`` and ``docker.io/library/busybox:latest`` must name the same image, or a stack that
says one and a store that holds the other would pull twice. So every reference is turned into
one canonical string (``domain/path[:tag][@digest]``) before it touches the database, and shown
back in Docker's familiar short form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.errors import ImageError

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAINS = {"index.docker.io", "registry-1.docker.io"}
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_TAG = re.compile(r"[\w][\w.-]{0,127}\Z")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")
_DOMAIN = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*"
    r"(?::[0-9]+)?\Z|\[[0-9a-fA-F:]+\](?::[0-9]+)?\Z"
)


@dataclass(frozen=True)
class Reference:
    """An image reference split into its parts, so that pulls know which registry to ask and names compare exactly."""
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """``domain/path``: what a registry stores and what ``docker images`` calls REPOSITORY."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_repository(self) -> str:
        if self.domain == DEFAULT_DOMAIN:
            return self.path.removeprefix(OFFICIAL_PREFIX)
        return self.repository

    def __str__(self) -> str:
        s = self.repository
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    @property
    def familiar(self) -> str:
        s = self.familiar_repository
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.domain, self.path, None, digest)

    @property
    def by_digest(self) -> bool:
        return self.digest is not None


def is_digest(s: str) -> bool:
    return bool(_DIGEST.match(s))


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain = first
        if domain in LEGACY_DOMAINS:
            domain = DEFAULT_DOMAIN
        path = rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    return domain, path


def parse(ref: str, *, default_tag: bool = True) -> Reference:
    """Parse ``ref``; a reference with neither tag nor digest gets ``:latest`` unless told not to."""
    text = ref.strip()
    if not text:
        raise ImageError("invalid image reference: empty")
    name, at, digest = text.partition("@")
    if at and not _DIGEST.match(digest):
        raise ImageError(f'invalid image reference "{ref}": digest must be sha256:<64 hex digits>')
    tag: str | None = None
    last = name.rfind("/")
    colon = name.rfind(":")
    if colon > last:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise ImageError(f'invalid image reference "{ref}": bad tag "{tag}"')
    domain, path = _split_domain(name)
    if not _DOMAIN.match(domain):
        raise ImageError(f'invalid image reference "{ref}": bad registry host "{domain}"')
    components = path.split("/")
    for c in components:
        if not _COMPONENT.match(c):
            why = "repository names must be lowercase" if c.lower() != c else f'bad path component "{c}"'
            raise ImageError(f'invalid image reference "{ref}": {why}')
    if len(str(domain) + "/" + path) > 255:
        raise ImageError(f'invalid image reference "{ref}": name longer than 255 characters')
    if tag is None and not at and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest if at else None)


def normalize(ref: str) -> str:
    """The canonical string stored in the database: ``docker.io/library/busybox:latest``."""
    return str(parse(ref))


def familiar(ref: str) -> str:
    """The short form Docker shows: ``busybox:latest``, ``localhost:5000/a/b:1``."""
    return parse(ref).familiar
