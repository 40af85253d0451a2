"""``RUN --mount``: BuildKit's mounts for one RUN step (``cache``, ``bind``, ``tmpfs``, ``secret``,
``ssh``).

A mount lends a directory to the step without making it part of the layer: a cache that later
builds find again (a package manager's downloads), files of the context or of another stage that
need not be copied in, a scratch tmpfs. What the step writes there never reaches the image, and a
mount point the step's root lacked is removed from the layer again afterwards. A secret (Compose's
``build.secrets``) is a read-only file for the step (and, with ``env=``, a variable of it), never
part of its cache key; an ``ssh`` mount is a socket to one of the build's SSH agents
(``ssh_agents``), the first one also the step's ``SSH_AUTH_SOCK``. A secret or an agent the build
was not given is skipped, or refused when the mount is marked ``required``.

Cache mounts live in ``<build cache>/run-mounts/<hash of id>``, the id defaulting to the target;
``sharing=locked`` (and ``private``, which BuildKit would give a fresh copy) holds a lock on the
cache while the step runs, ``shared`` (the default) lets steps use it together.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import ImageError

TYPES = ("cache", "bind", "tmpfs", "secret", "ssh")
_KEYS = {"type", "target", "destination", "dst", "source", "src", "from", "id", "sharing", "mode", "uid", "gid",
         "ro", "readonly", "rw", "readwrite", "size", "required", "env"}


@dataclass(frozen=True)
class RunMount:
    """One ``RUN --mount=`` as written, checked and normalized."""
    type: str
    target: str  # absolute, normalized
    source: str = ""  # bind: a path in the context or in ``from``; cache: a path in ``from`` (unsupported)
    from_: str | None = None
    id: str = ""
    sharing: str = "shared"
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    readonly: bool | None = None  # None: the type's default (bind ro, cache and tmpfs rw)
    size: int | None = None
    required: bool = False
    env: str | None = None  # secret: also (or only, without a target) this variable of the step

    @property
    def secret_id(self) -> str:
        return self.id or posixpath.basename(self.target)

    @property
    def ssh_id(self) -> str:
        return self.id or "default"

    def key(self) -> str:
        """What the step's cache key keeps of the mount (a bind's content is added by the builder)."""
        return (f"{self.type}:{self.target}:{self.source}:{self.from_}:{self.id}:{self.sharing}:{self.mode}:"
                f"{self.uid}:{self.gid}:{self.readonly}:{self.size}:{self.env}")


def _int(value: str, key: str, what: str, base: int = 10) -> int:
    try:
        return int(value, base)
    except ValueError:
        raise ImageError(f"{what}: --mount {key}={value!r} is not a number") from None


def parse_mount(spec: str, cwd: str, what: str) -> RunMount:
    """One ``--mount`` value (``type=cache,target=/root/.cache,…``); a relative target is taken from
    the step's working directory, as BuildKit does."""
    fields: dict[str, str] = {}
    for item in (p.strip() for p in spec.split(",")):
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if key not in _KEYS:
            raise ImageError(f"{what}: --mount has an unknown option {key!r}")
        fields[key] = value.strip().strip("\"'") if eq else "true"
    kind = fields.get("type", "bind")
    if kind not in TYPES:
        raise ImageError(f"{what}: --mount type={kind} is not one of {', '.join(TYPES)}")
    target = fields.get("target") or fields.get("destination") or fields.get("dst") or ""
    if kind == "secret" and not target and "env" not in fields:
        target = "/run/secrets/" + (fields.get("id") or posixpath.basename(fields.get("source", "")) or "secret")
    if kind not in ("secret", "ssh") and not target:
        raise ImageError(f"{what}: --mount type={kind} needs a target")
    target = posixpath.normpath(posixpath.join(cwd or "/", target)) if target else ""
    if target == "/":
        raise ImageError(f"{what}: --mount cannot cover the whole root")
    readonly = None
    if fields.get("ro") == "true" or fields.get("readonly") == "true":
        readonly = True
    if fields.get("rw") == "true" or fields.get("readwrite") == "true":
        readonly = False
    sharing = fields.get("sharing", "shared")
    if sharing not in ("shared", "private", "locked"):
        raise ImageError(f"{what}: --mount sharing={sharing} is not shared, private or locked")
    size = None
    if "size" in fields:
        from orchestrator.spec.models.units import parse_size

        try:
            size = parse_size(fields["size"])
        except ValueError:
            raise ImageError(f"{what}: --mount size={fields['size']!r} is not a size") from None
    return RunMount(
        type=kind, target=target, source=fields.get("source") or fields.get("src") or "",
        from_=fields.get("from") or None, id=fields.get("id") or "", sharing=sharing,
        mode=_int(fields["mode"], "mode", what, 8) if "mode" in fields else None,
        uid=_int(fields["uid"], "uid", what) if "uid" in fields else 0,
        gid=_int(fields["gid"], "gid", what) if "gid" in fields else 0,
        readonly=readonly, size=size, required=fields.get("required", "false").lower() in ("true", "1"),
        env=fields.get("env") or None,
    )


def ssh_target(n: int) -> str:
    """BuildKit's place for the step's ``n``-th agent socket when its mount names none."""
    return f"/run/buildkit/ssh_agent.{n}"


def cache_dir(build_cache: Path, m: RunMount) -> Path:
    """The cache's directory, made (with the mount's owner and mode) the first time it is used."""
    ident = m.id or m.target
    d = build_cache / "run-mounts" / hashlib.sha256(ident.encode()).hexdigest()[:32]
    if not d.is_dir():
        d.parent.mkdir(parents=True, exist_ok=True)
        tmp = d.parent / f".{d.name}.{os.getpid()}"
        tmp.mkdir(mode=0o755)
        os.chown(tmp, m.uid, m.gid)
        os.chmod(tmp, m.mode if m.mode is not None else 0o755)
        try:
            os.rename(tmp, d)
        except OSError:  # another build made it meanwhile
            os.rmdir(tmp)
    return d


@contextlib.contextmanager
def cache_lock(d: Path, m: RunMount) -> Iterator[None]:
    """Held while the step runs, for ``sharing=locked`` (and ``private``)."""
    if m.sharing == "shared":
        yield
        return
    fd = os.open(f"{d}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def existing_depth(root: Path, target: str) -> int:
    """How many leading components of ``target`` the step's root has (resolved inside it)."""
    from orchestrator.storage.safepath import open_in_root

    parts = [p for p in target.split("/") if p]
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i in range(len(parts)):
            try:
                os.close(open_in_root(root_fd, "/".join(parts[: i + 1]), os.O_PATH))
            except OSError:
                return i
        return len(parts)
    finally:
        os.close(root_fd)


def drop_mount_points(upper: Path, target: str, depth: int) -> None:
    """Remove from the layer the components of ``target`` past ``depth`` (those the runtime made as
    mount points), deepest first, each only if it is still an empty directory or an empty file;
    never through a symbolic link."""
    parts = [p for p in target.split("/") if p]
    if depth >= len(parts):
        return
    fds = [os.open(upper, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)]
    try:
        for part in parts[:-1]:
            try:
                fds.append(os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fds[-1]))
            except OSError:
                break
        for i in range(len(parts) - 1, depth - 1, -1):
            if i >= len(fds):
                continue
            parent, name = fds[i], parts[i]
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                continue
            try:
                if stat.S_ISDIR(st.st_mode):
                    os.rmdir(name, dir_fd=parent)
                elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
                    os.unlink(name, dir_fd=parent)
                else:
                    return
            except OSError:  # the step left something there: it is part of the layer
                return
    finally:
        for fd in fds:
            os.close(fd)


def resolve_in(root: Path, sub: str, what: str) -> Path:
    """``sub`` inside ``root`` (a mounted stage or image), resolved there: its host path."""
    from orchestrator.storage.safepath import open_in_root

    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fd = open_in_root(root_fd, sub.strip("/") or ".", os.O_PATH)
        except OSError as exc:
            raise ImageError(f"{what}: --mount source {sub!r}: {exc.strerror}") from None
        try:
            real = Path(os.readlink(f"/proc/self/fd/{fd}"))
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)
    if real != root and root not in real.parents:
        raise ImageError(f"{what}: --mount source {sub!r} resolves outside its root")
    return real
