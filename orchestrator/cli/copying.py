"""``pystack cp``: copy between a container's root and the host without leaving either side.

The container side is opened with the root as ``/`` (``RESOLVE_IN_ROOT``), so a symlink planted in
the container cannot point the copy at a host path; the copy itself never follows symlinks, but
with ``-L`` the one named as the source: on the container side resolved in its root, link by link.

Ownership as ``docker cp``'s: what is copied belongs to the destination's user, the container's
root (as its user namespace maps it) or the user running the command, unless ``-a`` keeps the
source's uid and gid (``owner=None``).

A running container's root is its PID 1's ``/proc/PID/root``: lookups from it cross the mounts of
the container's own mount namespace, so the copy sees what the container sees (volumes, binds,
tmpfs, its ``/etc/hosts``), where the overlay's merged directory on the host shows only empty
mount points. A stopped container's is that merged directory, with its volumes and binds mounted
over it for the copy (:mod:`orchestrator.cli.stopped_mounts`).
"""

from __future__ import annotations

import os
import posixpath
import tarfile
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING

from orchestrator.errors import PystackError
from orchestrator.storage.fscopy import CopyOptions, copy_entry
from orchestrator.storage.safepath import DIR_FLAGS, open_in_root

if TYPE_CHECKING:
    from orchestrator.reconcile.context import Context
    from orchestrator.state.containers import ContainerRecord


def live_root(ctx: Context, rec: ContainerRecord) -> Path | None:
    """The root of a running (or paused) container as its processes see it, else None."""
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    try:
        state = rt.state(rec.id)
    except PystackError:
        return None
    if state.pid and state.status in ("running", "paused"):
        return Path(f"/proc/{state.pid}/root")
    return None


def container_root_owner(bundle_config: Path) -> tuple[int, int]:
    """The host uid and gid of the container's root: 0, unless its user namespace maps it elsewhere."""
    import json

    try:
        linux = json.loads(bundle_config.read_text()).get("linux") or {}
    except (OSError, ValueError):
        linux = {}

    def host_id(key: str) -> int:
        for m in linux.get(key) or []:
            if int(m.get("containerID", -1)) <= 0 < int(m.get("containerID", 0)) + int(m.get("size", 0)):
                return int(m["hostID"]) - int(m["containerID"])
        return 0

    return host_id("uidMappings"), host_id("gidMappings")


def _split(path: str) -> tuple[str, str]:
    norm = posixpath.normpath("/" + path)
    parent, name = posixpath.split(norm)
    if not name:
        raise PystackError(f"cp: {path!r} names the container's root; name a file or directory in it")
    return parent, name


def _host_target(dest: Path, name: str) -> tuple[int, str]:
    if dest.is_dir():
        return os.open(dest, DIR_FLAGS & ~os.O_NOFOLLOW), name
    return os.open(dest.parent if str(dest.parent) else ".", DIR_FLAGS & ~os.O_NOFOLLOW), dest.name


MAX_LINKS = 40  # as the kernel's limit on symlinks followed in one lookup


def _resolved_in_root(root_fd: int, parent: str, name: str) -> tuple[str, str]:
    """``parent/name`` with the link it names followed (each hop inside the root), for ``-L``."""
    for _ in range(MAX_LINKS):
        try:
            pfd = open_in_root(root_fd, parent)
        except OSError:
            return parent, name  # the copy reports it
        try:
            target = os.readlink(name, dir_fd=pfd)
        except OSError:  # not a link (or not there): this is the entry
            return parent, name
        finally:
            os.close(pfd)
        parent, name = _split(target if target.startswith("/") else posixpath.join(parent, target))
    raise PystackError(f"cp: {posixpath.join(parent, name)}: too many levels of symbolic links")


def copy_out(root: Path, path: str, dest: Path, *, owner: tuple[int, int] | None = None,
             follow_link: bool = False) -> None:
    parent, name = _split(path)
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        src_parent, src_name = _resolved_in_root(root_fd, parent, name) if follow_link else (parent, name)
        try:
            sfd = open_in_root(root_fd, src_parent)
        except OSError as exc:
            raise PystackError(f"cp: {parent}: {exc.strerror}") from None
        dfd, dname = _host_target(dest, name)
        try:
            copy_entry(sfd, src_name, dfd, dname, CopyOptions(owner=owner, keep_owner=owner is None, root_fd=dfd))
        except FileNotFoundError:
            raise PystackError(f"cp: {path}: no such file in the container") from None
        finally:
            os.close(sfd)
            os.close(dfd)
    finally:
        os.close(root_fd)


def copy_in(src: Path, root: Path, path: str, *, owner: tuple[int, int] | None = None,
            follow_link: bool = False) -> None:
    if not os.path.lexists(src):
        raise PystackError(f"cp: {src}: no such file")
    source = Path(os.path.realpath(src)) if follow_link else src  # the host's side is the user's own
    if not os.path.lexists(source):
        raise PystackError(f"cp: {src}: a link to nothing")
    parent, name = _split(path)
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            dfd = open_in_root(root_fd, posixpath.join(parent, name))
            dname = src.name  # an existing directory: copy into it
        except OSError:
            dfd = open_in_root(root_fd, parent)
            dname = name
        sfd = os.open(source.parent, DIR_FLAGS & ~os.O_NOFOLLOW)
        try:
            copy_entry(sfd, source.name, dfd, dname, CopyOptions(owner=owner, keep_owner=owner is None, root_fd=dfd))
        finally:
            os.close(sfd)
            os.close(dfd)
    finally:
        os.close(root_fd)


def copy_out_tar(root: Path, path: str, out: IO[bytes], *, follow_link: bool = False) -> None:
    """``cp SERVICE:PATH -``: the entry as a tar stream, owners kept, as docker cp writes it."""
    _, name = _split(path)
    with tempfile.TemporaryDirectory(prefix="pystack-cp-") as tmp:
        copy_out(root, path, Path(tmp), follow_link=follow_link)
        with tarfile.open(fileobj=out, mode="w|") as tar:
            tar.add(os.path.join(tmp, name), arcname=name)
    out.flush()


def copy_in_tar(stream: IO[bytes], root: Path, path: str, *, owner: tuple[int, int] | None = None) -> None:
    """``cp - SERVICE:DIR``: a tar stream unpacked into a directory of the container. The archive is
    unpacked on the host first with tarfile's ``data`` filter (no absolute names, no ``..``, no link
    or device leading elsewhere), then each entry copied in as a file given by path would be."""
    with tempfile.TemporaryDirectory(prefix="pystack-cp-") as tmp:
        try:
            with tarfile.open(fileobj=stream, mode="r|*") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise PystackError(f"cp: standard input is not a usable tar archive: {exc}") from None
        root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.close(open_in_root(root_fd, posixpath.normpath("/" + path)))
        except OSError:
            raise PystackError(f"cp: {path}: the destination of a tar stream must be a directory of the "
                               "container") from None
        finally:
            os.close(root_fd)
        for entry in sorted(os.listdir(tmp)):
            copy_in(Path(tmp) / entry, root, path, owner=owner)  # into the directory, by its own name
