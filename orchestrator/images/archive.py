"""Image archives on disk: read a directory or a (gzipped) tar, write one; pick the format.

Loading streams a tar once: each regular member goes straight into a temporary file of the
content store while being hashed, so a blob later named by a manifest is verified and moved into
place without a second copy. Member names are only looked up, never used as paths on disk, so
a hostile archive cannot write anywhere; a directory source resolves names and refuses any that
leave it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import posixpath
import tarfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Literal

from orchestrator.errors import ImageError
from orchestrator.images.content import CHUNK, ContentStore

if TYPE_CHECKING:
    from orchestrator.images.store import Image, ImageStore


def _clean(name: str) -> str | None:
    norm = posixpath.normpath("/" + name.lstrip("/")).lstrip("/")
    return norm or None


class Source:
    """Named files of an archive, wherever they really are."""

    def __init__(self, content: ContentStore) -> None:
        self.content = content

    def names(self) -> set[str]:
        raise NotImplementedError

    def path(self, name: str) -> Path:
        raise NotImplementedError

    def has(self, name: str) -> bool:
        return name in self.names()

    def read_bytes(self, name: str) -> bytes:
        try:
            return self.path(name).read_bytes()
        except OSError as exc:
            raise ImageError(f"archive: cannot read {name}: {exc.strerror or exc}") from None

    def to_store(self, name: str, expected: str | None = None) -> tuple[str, int]:
        """Put member ``name`` into the content store, refusing it unless it hashes to ``expected``."""
        return self.content.ingest_file(self.path(name), expected=expected)

    def close(self) -> None:
        pass


class DirSource(Source):
    def __init__(self, content: ContentStore, root: Path) -> None:
        super().__init__(content)
        self.root = root.resolve()
        self._names: set[str] | None = None

    def names(self) -> set[str]:
        if self._names is None:
            self._names = {str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file()}
        return self._names

    def has(self, name: str) -> bool:
        clean = _clean(name)
        return clean is not None and (self.root / clean).is_file()

    def path(self, name: str) -> Path:
        clean = _clean(name)
        p = (self.root / (clean or "")).resolve()
        if clean is None or not p.is_relative_to(self.root):
            raise ImageError(f"archive: {name!r} points outside the image directory")
        if not p.is_file():
            raise ImageError(f"archive: {name} is missing")
        return p


class TarSource(Source):
    """Every regular member streamed once into the content store's ingest area, hashed on the way."""

    def __init__(self, content: ContentStore, path: Path) -> None:
        super().__init__(content)
        self.files: dict[str, tuple[Path, str]] = {}
        self.links: dict[str, str] = {}
        try:
            with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tf:
                for m in tf:
                    self._member(tf, m)
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, OSError) as exc:
            self.close()
            raise ImageError(f"cannot read {path}: not a valid (gzipped) tar archive ({exc})") from None

    def _member(self, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        name = _clean(m.name)
        if name is None:
            return
        if m.issym():
            target = posixpath.join(posixpath.dirname(name), m.linkname)
            self.links[name] = _clean(target) or ""
        elif m.islnk():
            self.links[name] = _clean(m.linkname) or ""
        elif m.isreg():
            src = tf.extractfile(m)
            assert src is not None
            f, tmp = self.content.temp_file()
            h = hashlib.sha256()
            with f:
                while chunk := src.read(CHUNK):
                    h.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            self.files[name] = (tmp, "sha256:" + h.hexdigest())

    def _resolve(self, name: str) -> tuple[Path, str]:
        clean = _clean(name) or ""
        for _ in range(16):
            if clean in self.files:
                return self.files[clean]
            if clean not in self.links:
                break
            clean = self.links[clean]
        raise ImageError(f"archive: {name} is missing")

    def names(self) -> set[str]:
        return set(self.files) | set(self.links)

    def path(self, name: str) -> Path:
        tmp, digest = self._resolve(name)
        return tmp if tmp.exists() else self.content.path(digest)

    def to_store(self, name: str, expected: str | None = None) -> tuple[str, int]:
        tmp, digest = self._resolve(name)
        if expected is not None and digest != expected:
            raise ImageError(f"archive: {name} does not match its digest: expected {expected}, got {digest}")
        if tmp.exists():
            self.content.commit_file(tmp, digest)
        return digest, self.content.size(digest)

    def close(self) -> None:
        for tmp, _ in self.files.values():
            tmp.unlink(missing_ok=True)


def open_source(content: ContentStore, path: Path) -> Source:
    if path.is_dir():
        return DirSource(content, path)
    if not path.is_file():
        raise ImageError(f"cannot load {path}: no such file or directory")
    return TarSource(content, path)


def load(store: ImageStore, path: Path) -> list[Image]:
    """Load every image of a docker-save archive or an OCI layout (directory or tar, gzip or not)."""
    from orchestrator.images import docker_archive, oci_layout

    src = open_source(store.content, path)
    try:
        if src.has("oci-layout") and src.has("index.json"):
            images = oci_layout.load(store, src)
            if src.has("manifest.json") and not any(img.refs for img in images):
                images = docker_archive.load(store, src)  # docker >= 25 names images in manifest.json
            return images
        if src.has("manifest.json"):
            return docker_archive.load(store, src)
        raise ImageError(f"cannot load {path}: neither a docker-save archive (manifest.json) "
                         "nor an OCI image layout (oci-layout, index.json)")
    finally:
        src.close()


class Writer:
    """A directory or a tar (gzip by suffix) being written; the target appears only when complete."""

    def __init__(self, out: Path, *, as_dir: bool) -> None:
        self.out = out
        self.as_dir = as_dir
        self.tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        self.tar: tarfile.TarFile | None = None
        self._raw: IO[bytes] | None = None
        self._dirs: set[str] = set()
        if as_dir:
            if out.exists() and any(out.iterdir()):
                raise ImageError(f"cannot save to {out}: directory is not empty")
            self.tmp.mkdir(parents=True)
        else:
            gz = out.name.endswith((".gz", ".tgz"))
            raw: IO[bytes] = open(self.tmp, "wb")  # noqa: SIM115 - closed in commit()/abort()
            if gz:
                raw = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6)  # type: ignore[assignment]
            self._raw = raw
            self.tar = tarfile.open(  # noqa: SIM115 - closed in commit()/abort()
                fileobj=raw, mode="w", format=tarfile.PAX_FORMAT)

    def _parents(self, name: str) -> None:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self._dirs and self.tar is not None:
                ti = tarfile.TarInfo(d + "/")
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                self.tar.addfile(ti)
            self._dirs.add(d)

    def add_bytes(self, name: str, data: bytes) -> None:
        self.add_stream(name, io.BytesIO(data), len(data))

    def add_stream(self, name: str, stream: BinaryIO, size: int) -> None:
        if self.tar is None:
            dest = self.tmp / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as f:
                while chunk := stream.read(CHUNK):
                    f.write(chunk)
            return
        self._parents(name)
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode = size, 0o644
        self.tar.addfile(ti, stream)

    def add_file(self, name: str, path: Path) -> None:
        with open(path, "rb") as f:
            self.add_stream(name, f, os.fstat(f.fileno()).st_size)

    def commit(self) -> None:
        if self.tar is not None and self._raw is not None:
            self.tar.close()
            self._raw.close()
        if self.as_dir and self.out.exists():
            self.out.rmdir()
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        import shutil

        with contextlib.suppress(Exception):
            if self.tar is not None and self._raw is not None:
                self.tar.close()
                self._raw.close()
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)


def save(store: ImageStore, images: list[Image], out: Path, *, format: Literal["docker", "oci"]) -> None:
    """``docker``: a docker-save tar; ``oci``: an OCI layout, a directory unless out ends in .tar/.gz."""
    from orchestrator.images import docker_archive, oci_layout

    if not images:
        raise ImageError("nothing to save: name at least one image")
    as_dir = format == "oci" and (out.is_dir() or not out.name.endswith((".tar", ".gz", ".tgz")))
    out.parent.mkdir(parents=True, exist_ok=True)
    w = Writer(out, as_dir=as_dir)
    try:
        if format == "oci":
            oci_layout.write(store, images, w)
        else:
            docker_archive.write(store, images, w)
        w.commit()
    except BaseException:
        w.abort()
        raise
