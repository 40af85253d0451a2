"""Secrets and configs in the containers: the files a service's ``secrets:`` and ``configs:`` mount.

Where they go, as Docker Compose puts them: a secret at ``/run/secrets/<name>`` (a relative
``target`` is taken under /run/secrets, an absolute one is used as it is), a config at ``/<name>``
(or at its ``target``; a relative one is taken under /). Each file belongs to ``uid``:``gid``
(default 0:0) with ``mode`` (default 0444), and is bind-mounted read-only, nosuid and nodev.

Every source, ``file:`` included, is written to a file of pystack's own in the container's
directory (``files/``, which removing the container deletes), and that copy is what the container
mounts. Docker Compose binds a ``file:`` source itself, and ignores (with a warning) its uid, gid
and mode. pystack copies it instead:

- nothing the container does can reach the host's file. A read-only bind of it is one
  ``mount -o remount,rw`` away for a container with CAP_SYS_ADMIN (``privileged: true``), and it
  would share the host file's inode, owner and mode;
- uid, gid and mode then apply to every source alike, and the default 0444 lets an image's own
  non-root user read a secret whose host file is 0600 (bound as it is, it could not: the usual
  "permission denied" of a database image reading ``/run/secrets/...``).

The price is that a running container does not see an edit of the host file. So the content's
digest is part of the service's config hash: the next ``up`` recreates the service's containers,
and names the change (``top-level secrets.db-password.content changed``), as it does for an edited
seccomp profile. A directory given as ``file:`` (Compose's bind allows it) is copied as a tree,
with its own modes; uid and gid apply to all of it, ``mode`` to none.

:func:`mounts_for` is the one call of the lifecycle: it writes the files and returns their mounts.
The rest is pure, for :mod:`.translate` and the tests.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator import sha256
from orchestrator.errors import PystackError
from orchestrator.reconcile.desired import FilePlan

if TYPE_CHECKING:
    from orchestrator.reconcile.context import Context
    from orchestrator.reconcile.desired import ServicePlan
    from orchestrator.state.containers import ContainerRecord

SECRETS_DIR = "/run/secrets"
FILES_DIR = "files"  # in the container's directory
DEFAULT_MODE = 0o444
MOUNT_OPTIONS = ("bind", "ro", "nosuid", "nodev")
_CHUNK = 1 << 20
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def secret_target(source: str, target: str | None) -> str:
    if not target:
        return f"{SECRETS_DIR}/{source}"
    return target if target.startswith("/") else f"{SECRETS_DIR}/{target}"


def config_target(source: str, target: str | None) -> str:
    if not target:
        return f"/{source}"
    return target if target.startswith("/") else f"/{target}"


def numeric_id(value: str | int | None) -> int | None:
    """A ``uid``/``gid`` as Compose takes it: a number, or unset (None or ``""``). The loader has
    already refused anything else."""
    if value is None or value == "":
        return None
    return int(value)


def describe(f: FilePlan) -> str:
    return f"{f.kind} {f.name!r}"


# --- digests: what stands for the content in the config hash ----------------------------------


def digest(kind: str, name: str, *, file: str | None = None, content: str | None = None) -> str:
    """16 hex digits of the content (a file's, a directory tree's, or the given value), keyed by the
    secret's kind and name; a source that cannot be read gets a word instead (``missing``, ``unset``)
    and :func:`mounts_for` reports it when a container is made."""
    h = sha256.new(f"pystack {kind} {name}\0".encode())
    if file is not None:
        try:
            _hash_path(h, Path(file))
        except FileNotFoundError:
            return "missing"
        except OSError as exc:
            return f"unreadable ({exc.strerror or exc})"
    elif content is not None:
        h.update(content.encode())
    else:
        return "unset"
    return h.hexdigest()[:16]


def _hash_path(h: sha256.Hasher, path: Path) -> None:
    st = os.stat(path)
    if stat.S_ISREG(st.st_mode):
        _hash_file(h, path)
    elif stat.S_ISDIR(st.st_mode):
        for top, dirs, names in os.walk(path):
            dirs.sort()
            for entry in [*sorted(dirs), *sorted(names)]:
                p = Path(top, entry)
                lst = os.lstat(p)
                h.update(f"\0{p.relative_to(path)}\0{lst.st_mode:o}\0".encode())
                if stat.S_ISLNK(lst.st_mode):
                    h.update(os.readlink(p).encode())
                elif stat.S_ISREG(lst.st_mode):
                    _hash_file(h, p)
    else:
        raise OSError(errno.EINVAL, "not a regular file or a directory")


def _hash_file(h: sha256.Hasher, path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a fifo swapped in must not block
    try:
        while chunk := os.read(fd, _CHUNK):
            h.update(chunk)
    finally:
        os.close(fd)


def definitions(files: Iterable[FilePlan]) -> dict[str, Any]:
    """The top-level definitions the service's files come from, for its recorded spec: a changed
    path, variable or content becomes the reason of a recreate (``top-level secrets.token.content
    changed``). Empty for a service without secrets or configs, so its hash stays what it was."""
    out: dict[str, Any] = {}
    for f in files:
        entry: dict[str, Any] = {}
        if f.file is not None:
            entry["file"] = f.file
        if f.environment is not None:
            entry["environment"] = f.environment
        entry["content"] = f.digest
        out.setdefault(f"top-level {f.kind}s", {})[f.name] = entry
    return out


# --- the files themselves ---------------------------------------------------------------------


def mounts_for(ctx: Context, sp: ServicePlan, rec: ContainerRecord) -> list[dict[str, Any]]:
    """Write the service's secrets and configs into the container's directory; their OCI mounts."""
    if not sp.files:
        return []
    base = ctx.paths.container(rec.id) / FILES_DIR
    return write_files(sp.files, base)


def write_files(files: Iterable[FilePlan], base: Path) -> list[dict[str, Any]]:
    """Each file as ``base/<n>-<kind>-<name>``; ``base`` is made 0700 (root alone on the host
    reaches the copies, whatever their own mode)."""
    base.mkdir(mode=0o700, exist_ok=True)
    os.chmod(base, 0o700)
    out: list[dict[str, Any]] = []
    for i, f in enumerate(files):
        dest = base / f"{i}-{f.kind}-{_UNSAFE_NAME.sub('_', f.name)}"
        try:
            write_one(f, dest)
        except OSError as exc:
            raise PystackError(f"{describe(f)}: cannot write its file {dest}: {exc.strerror or exc}") from None
        out.append({"destination": f.target, "type": "bind", "source": str(dest), "options": list(MOUNT_OPTIONS)})
    return out


def write_one(f: FilePlan, dest: Path) -> None:
    if f.file is not None:
        _copy_source(f, Path(f.file), dest)
        return
    if f.content is None:
        raise PystackError(f"{describe(f)}: environment variable {f.environment} is not set")
    data = f.content.encode()
    _write(f, dest, lambda fd: _write_all(fd, data))


def _copy_source(f: FilePlan, src: Path, dest: Path) -> None:
    try:
        st = os.stat(src)
    except FileNotFoundError:
        raise PystackError(f"{describe(f)}: file {src} does not exist") from None
    except OSError as exc:
        raise PystackError(f"{describe(f)}: file {src}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        import shutil  # a directory source only: the module is on the path of every up

        try:
            shutil.copytree(src, dest, symlinks=True)
        except (OSError, shutil.Error) as exc:
            raise PystackError(f"{describe(f)}: cannot copy directory {src}: {exc}") from None
        if f.uid is not None or f.gid is not None:
            _chown_tree(dest, f.uid, f.gid)
        return
    if not stat.S_ISREG(st.st_mode):
        raise PystackError(f"{describe(f)}: {src} is not a regular file or a directory")
    try:
        src_fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise PystackError(f"{describe(f)}: file {src}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(src_fd).st_mode):  # replaced since the stat
            raise PystackError(f"{describe(f)}: {src} is not a regular file or a directory")
        _write(f, dest, lambda fd: _copy_fd(src_fd, fd))
    finally:
        os.close(src_fd)


def _write(f: FilePlan, dest: Path, fill: Callable[[int], None]) -> None:
    """A new file (never through an existing name or link), filled, then given its owner and mode:
    created 0600, so no one else could open it while it is written."""
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fill(fd)
        _chown(fd, f.uid, f.gid)
        os.fchmod(fd, f.mode & 0o7777)
    finally:
        os.close(fd)


def _chown(fd: int, uid: int | None, gid: int | None) -> None:
    """The requested owner; unrequested ids are root's (Compose's default), which the file of a
    root-run pystack already has. Without root only a requested id is tried (and may fail)."""
    if os.geteuid() == 0:
        os.fchown(fd, 0 if uid is None else uid, 0 if gid is None else gid)
    elif uid is not None or gid is not None:
        os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)


def _chown_tree(root: Path, uid: int | None, gid: int | None) -> None:
    u, g = (-1 if uid is None else uid), (-1 if gid is None else gid)
    os.lchown(root, u, g)
    for top, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            os.lchown(os.path.join(top, name), u, g)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy_fd(src_fd: int, dst_fd: int) -> None:
    while chunk := os.read(src_fd, _CHUNK):
        _write_all(dst_fd, chunk)
