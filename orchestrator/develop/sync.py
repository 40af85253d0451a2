"""Copy changed host files into a running container, and delete there what was deleted here.

The container is reached through its PID 1's root (``/proc/PID/root``), opened once per batch: a
path resolves there as the container sees it, across its volumes, binds and tmpfs mounts (a file
under a volume goes into the volume, as Compose's copy does), and with that root as ``/``
(``RESOLVE_IN_ROOT``), so a symlink inside the container cannot lead a write out of it. Nothing is
ever followed on the host side either: a host symlink is copied as a link. A destination that is
the very directory the file comes from (the container binds the watched directory) is left
alone: the container sees the change already, and a copy onto itself would first remove it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestrator.storage.fscopy import CopyOptions, clear_entry, copy_entry
from orchestrator.storage.safepath import DIR_FLAGS, open_in_root


@dataclass
class SyncResult:
    """What one sync of a watched path did, for the line ``watch`` prints."""
    copied: int = 0
    deleted: int = 0
    failed: list[str] = field(default_factory=list)  # "container path: why"


def open_container_root(pid: int) -> int:
    """An ``O_PATH`` descriptor of the root PID ``pid`` sees (its mount namespace's ``/``)."""
    return os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def _parent_in_root(root_fd: int, cpath: str, create: bool) -> int:
    """The directory ``cpath`` is in, opened inside the root; made (0755) where missing if ``create``."""
    parts = [p for p in posixpath.dirname(cpath).split("/") if p]
    fd = os.open(".", DIR_FLAGS & ~os.O_NOFOLLOW, dir_fd=root_fd)
    try:
        for i, name in enumerate(parts):
            sub = "/" + "/".join(parts[: i + 1])
            try:
                nfd = open_in_root(root_fd, sub)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=fd)
                nfd = open_in_root(root_fd, sub)
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def _same_dir(a: int, b: int) -> bool:
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def apply(root_fd: int, changes: Mapping[str, str]) -> SyncResult:
    """Bring each container path in ``changes`` (container path → host path) to what the host path
    is now: a copy of the file or link, a directory made, or the entry removed if it is gone."""
    result = SyncResult()
    for cpath in sorted(changes):  # parents before what is in them
        host = changes[cpath]
        name = posixpath.basename(cpath)
        if not name:
            result.failed.append(f"{cpath}: the container's root itself is not replaced")
            continue
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            st = None
        try:
            _apply_one(root_fd, cpath, name, host, st, result)
        except OSError as exc:
            result.failed.append(f"{cpath}: {exc.strerror or exc}")
    return result


def _apply_one(root_fd: int, cpath: str, name: str, host: str, st: os.stat_result | None,
               result: SyncResult) -> None:
    try:
        dfd = _parent_in_root(root_fd, cpath, create=st is not None)
    except FileNotFoundError:
        return  # deleting what was never there
    try:
        hparent = os.path.dirname(host) or "/"
        try:
            sfd = os.open(hparent, DIR_FLAGS & ~os.O_NOFOLLOW)
        except FileNotFoundError:
            sfd = -1
        try:
            if sfd >= 0 and _same_dir(sfd, dfd):
                return  # the container binds this very directory: it has the change
            if st is None:
                try:
                    os.lstat(name, dir_fd=dfd)
                except FileNotFoundError:
                    return
                clear_entry(dfd, name, keep_dir=False)
                result.deleted += 1
                return
            if stat.S_ISDIR(st.st_mode):
                try:
                    os.mkdir(name, stat.S_IMODE(st.st_mode), dir_fd=dfd)
                except FileExistsError:
                    existing = os.lstat(name, dir_fd=dfd)
                    if stat.S_ISDIR(existing.st_mode):
                        return
                    clear_entry(dfd, name, keep_dir=False)
                    os.mkdir(name, stat.S_IMODE(st.st_mode), dir_fd=dfd)
                result.copied += 1
                return
            try:
                copy_entry(sfd, os.path.basename(host), dfd, name, CopyOptions())
            except FileNotFoundError as exc:
                if exc.filename is None or not os.path.lexists(host):
                    return  # removed again meanwhile: the next batch deletes it
                raise
            result.copied += 1
        finally:
            if sfd >= 0:
                os.close(sfd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(exc.errno, "a symlink loop inside the container") from None
        raise
    finally:
        os.close(dfd)
