"""The content store: blobs by sha256 digest, each written once, atomically, and verified.

A blob becomes visible only under its own digest and only after its bytes were hashed on the
way in, so a crash or a lying registry can leave a stray temporary file but never a wrong blob.
Writers stream into ``blobs/ingest/`` on the same filesystem, fsync, then rename into place.
hashlib (OpenSSL) and tempfile are imported where blobs are written or hashed: a command that only
reads the store (every ``up``) does not load them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from orchestrator.errors import ImageError
from orchestrator.paths import Paths

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """The digest of a blob held in memory: a manifest or a config, small enough for the interpreter's
    own sha256 (no OpenSSL to load for an ``up`` that only reads an image's config)."""
    from orchestrator import sha256

    return "sha256:" + sha256.hexdigest(data)


def sha256_file(path: Path) -> tuple[str, int]:
    import hashlib

    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return "sha256:" + h.hexdigest(), size


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ContentStore:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.dir = paths.blobs
        # Temporary files live beside the blobs (same filesystem) so the final rename is atomic.
        self.ingest_dir = paths.blobs.parent / "ingest"

    def _ensure(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ingest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, digest: str) -> Path:
        try:
            return self.paths.blob(digest)
        except ValueError as exc:
            raise ImageError(f"unsupported digest {digest!r}: only sha256 is supported") from exc

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        return self.path(digest).stat().st_size

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise ImageError(f"blob {digest} is missing from the content store") from None

    def read_bytes(self, digest: str) -> bytes:
        """Read a small blob (manifest, config) and check it still matches its name."""
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise ImageError(f"blob {digest} is missing from the content store") from None
        if sha256_bytes(data) != digest:
            raise ImageError(f"blob {digest} is corrupt in the content store (digest mismatch)")
        return data

    def temp_file(self) -> tuple[BinaryIO, Path]:
        self._ensure()
        import tempfile

        fd, name = tempfile.mkstemp(dir=self.ingest_dir, prefix="in-")
        return os.fdopen(fd, "wb"), Path(name)

    def commit_file(self, tmp: Path, digest: str) -> Path:
        """Move an already-verified, already-fsynced temporary file into place under ``digest``."""
        dest = self.path(digest)
        if dest.exists():
            tmp.unlink(missing_ok=True)
            return dest
        os.chmod(tmp, 0o644)
        os.rename(tmp, dest)
        _fsync_dir(dest.parent)
        return dest

    def write_bytes(self, data: bytes, expected: str | None = None) -> str:
        digest = sha256_bytes(data)
        if expected is not None and digest != expected:
            raise ImageError(f"content does not match its digest: expected {expected}, got {digest}")
        if self.has(digest):
            return digest
        f, tmp = self.temp_file()
        try:
            with f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self.commit_file(tmp, digest)
        finally:
            tmp.unlink(missing_ok=True)
        return digest

    def ingest(
        self,
        stream: BinaryIO,
        *,
        expected: str | None = None,
        expected_size: int | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> tuple[str, int]:
        """Copy ``stream`` into the store, hashing as it goes; refuse it if it is not ``expected``."""
        import hashlib

        h = hashlib.sha256()
        size = 0
        f, tmp = self.temp_file()
        try:
            with f:
                while chunk := stream.read(CHUNK):
                    h.update(chunk)
                    f.write(chunk)
                    size += len(chunk)
                    if expected_size is not None and size > expected_size:
                        raise ImageError(f"blob {expected or ''} is larger than the {expected_size} bytes announced")
                    if on_bytes is not None:
                        on_bytes(len(chunk))
                f.flush()
                os.fsync(f.fileno())
            digest = "sha256:" + h.hexdigest()
            if expected is not None and digest != expected:
                raise ImageError(f"content does not match its digest: expected {expected}, got {digest}")
            if expected_size is not None and size != expected_size:
                raise ImageError(f"blob {digest} has {size} bytes, expected {expected_size}")
            self.commit_file(tmp, digest)
        finally:
            tmp.unlink(missing_ok=True)
        return digest, size

    def ingest_file(self, path: Path, *, expected: str | None = None) -> tuple[str, int]:
        with open(path, "rb") as f:
            return self.ingest(f, expected=expected)

    def delete(self, digest: str) -> bool:
        try:
            self.path(digest).unlink()
            return True
        except FileNotFoundError:
            return False

    def digests(self) -> Iterator[str]:
        with contextlib.suppress(FileNotFoundError):
            for p in self.dir.iterdir():
                if len(p.name) == 64:
                    yield "sha256:" + p.name
