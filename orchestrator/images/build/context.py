"""The build context: resolving COPY/ADD sources inside it, and hashing them for the cache.

A source is resolved as if the context were ``/`` (``..`` cannot leave it; a symlink on the way
is followed but stays inside, as BuildKit scopes it), wildcards match one path component each,
and ``.dockerignore`` removes what it names. The cache key of a COPY is the hash of the names,
types, modes, sizes and bytes of everything it would copy: not mtimes, so a ``touch`` or a fresh
checkout does not invalidate the cache, as in Docker.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import ImageError
from orchestrator.images.build.dockerignore import Ignore
from orchestrator.storage.safepath import open_in_root

_GLOB = set("*?[")


@dataclass(frozen=True)
class Source:
    """A COPY source inside the build context, resolved so that it cannot lead outside it."""
    rel: str  # context-relative, resolved (no symlink left in it)
    path: Path  # the host path (inside the context)
    is_dir: bool


class Context:
    def __init__(self, root: Path, ignore: Ignore | None = None) -> None:
        self.root = root.resolve()
        if not self.root.is_dir():
            raise ImageError(f"build context {root} is not a directory")
        self.ignore = ignore if ignore is not None else Ignore.load(self.root)
        self._hashes: dict[str, str] = {}
        self._used: set[str] = set()

    def load_hashes(self, path: Path) -> None:
        """Reuse file digests of earlier builds, keyed by path, inode, size, mtime and ctime."""
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        if isinstance(doc, dict):
            self._hashes.update({str(k): str(v) for k, v in doc.items()})

    def save_hashes(self, path: Path, limit: int = 200_000) -> None:
        """Keep what this build used first, then older entries, up to ``limit``; written atomically."""
        keep = {k: self._hashes[k] for k in self._used if k in self._hashes}
        for k, v in self._hashes.items():
            if len(keep) >= limit:
                break
            keep.setdefault(k, v)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(keep))
        os.replace(tmp, path)

    def skip(self, rel: str) -> bool:
        """For copying a directory source: leave out ignored entries (descending where ``!`` may apply)."""
        if not self.ignore.ignored(rel):
            return False
        return self.ignore.prunable(rel) or not (self.root / rel).is_dir() or (self.root / rel).is_symlink()

    def resolve(self, src: str, *, what: str) -> list[Source]:
        """All sources named by ``src`` (a path or a wildcard); an error when nothing matches."""
        clean = [p for p in src.split("/") if p not in ("", ".")]
        if ".." in clean:
            depth = 0
            for p in clean:
                depth = depth - 1 if p == ".." else depth + 1
                if depth < 0:
                    raise ImageError(f"{what}: {src!r} is outside the build context")
        names = self._expand(clean) if any(_GLOB & set(p) for p in clean) else ["/".join(clean)]
        out = []
        for name in names:
            found = self._one(name)
            if found is not None and not (found.rel and self.ignore.ignored(found.rel)):
                out.append(found)
        if not out:
            raise ImageError(f"{what}: {src!r} not found in the build context (or excluded by .dockerignore)")
        return out

    def _expand(self, parts: list[str]) -> list[str]:
        matches = [""]
        for part in parts:
            nxt = []
            for base in matches:
                if not any(c in part for c in _GLOB):
                    nxt.append(f"{base}/{part}" if base else part)
                    continue
                d = self.root / base
                if not d.is_dir() or d.is_symlink():
                    continue
                for name in sorted(os.listdir(d)):
                    if fnmatch.fnmatchcase(name, part):
                        nxt.append(f"{base}/{name}" if base else name)
            matches = nxt
        return matches

    def _one(self, name: str) -> Source | None:
        root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            try:
                fd = open_in_root(root_fd, name or ".", os.O_PATH)
            except (FileNotFoundError, NotADirectoryError):
                return None
            try:
                real = Path(os.readlink(f"/proc/self/fd/{fd}"))
                is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
            finally:
                os.close(fd)
        finally:
            os.close(root_fd)
        try:
            rel = real.relative_to(self.root).as_posix()
        except ValueError:
            raise ImageError(f"{name!r} resolves outside the build context") from None
        return Source("" if rel == "." else rel, real, is_dir)

    def hash_sources(self, sources: list[Source]) -> str:
        h = hashlib.sha256()
        for s in sources:
            h.update(f"src {s.rel}\n".encode())
            for rel, line in self._entries(s):
                h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + line.encode() + b"\n")
        return h.hexdigest()

    def _entries(self, s: Source) -> Iterator[tuple[str, str]]:
        if not s.is_dir:
            yield "", self._describe(s.path)
            return
        yield "", "dir " + oct(stat.S_IMODE(os.stat(s.path).st_mode))
        yield from self._walk(s.path, s.rel, "", self.skip)

    def _walk(self, d: Path, rel_root: str, sub: str, skip: Callable[[str], bool]) -> Iterator[tuple[str, str]]:
        for name in sorted(os.listdir(d)):
            rel = f"{sub}/{name}" if sub else name
            ctx_rel = f"{rel_root}/{rel}" if rel_root else rel
            if skip(ctx_rel):
                continue
            p = d / name
            yield rel, self._describe(p)
            if p.is_dir() and not p.is_symlink():
                yield from self._walk(p, rel_root, rel, skip)

    def _describe(self, p: Path) -> str:
        st = os.lstat(p)
        mode = oct(stat.S_IMODE(st.st_mode))
        if stat.S_ISLNK(st.st_mode):
            return f"link {os.readlink(p)}"
        if stat.S_ISDIR(st.st_mode):
            return f"dir {mode}"
        if stat.S_ISREG(st.st_mode):
            return f"file {mode} {st.st_size} {self._file_hash(p, st)}"
        return f"node {stat.S_IFMT(st.st_mode)} {mode} {st.st_rdev}"

    def _file_hash(self, p: Path, st: os.stat_result) -> str:
        key = f"{p}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}"
        self._used.add(key)
        cached = self._hashes.get(key)
        if cached is None:
            h = hashlib.sha256()
            with open(p, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            cached = self._hashes[key] = h.hexdigest()
        return cached
