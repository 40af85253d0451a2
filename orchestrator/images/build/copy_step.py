"""COPY and ADD into a mounted build root: where things land, who owns them, archives unpacked.

Destinations resolve inside the image root as a container would see them (``RESOLVE_IN_ROOT``,
so a symlinked ``/app`` in the base image is followed but cannot lead out), missing directories
are created 0755, and sources are copied fd-to-fd. ``ADD`` of a local tar (plain, gzip, bzip2,
xz or zstd) unpacks it with the same safe extractor as image layers; ``ADD`` of a URL is refused
because builds here are offline.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import posixpath
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from orchestrator.errors import ImageError, PystackError
from orchestrator.images.build.context import Context, Source
from orchestrator.storage.fscopy import CopyOptions, copy_contents, copy_entry
from orchestrator.storage.safepath import DIR_FLAGS, open_dir_beneath, open_in_root
from orchestrator.storage.unpack import unpack_layer

_TAR_MAGIC_OFFSET = 257


@dataclass
class CopyRequest:
    """One COPY or ADD with its sources resolved: what is copied, from which root, to where and as whom."""
    sources: list[Source]
    src_root: Path  # the context, or the mounted root of a stage/image for --from
    dest: str  # absolute, already joined with WORKDIR
    dest_is_dir: bool  # written with a trailing "/" (or several sources)
    owner: tuple[int, int] | None
    mode: int | None
    keep_owner: bool
    skip: Callable[[str], bool] | None
    unpack_archives: bool  # ADD


def is_url(src: str) -> bool:
    return "://" in src and src.split("://", 1)[0].lower() in ("http", "https", "git", "ssh", "ftp")


def absolute_dest(dest: str, workdir: str) -> str:
    if not dest.startswith("/"):
        dest = posixpath.join(workdir or "/", dest)
    return dest


def mkdirs_in_root(root_fd: int, path: str, what: str, _hops: int = 0) -> int:
    """Open directory ``path`` inside the root, creating what is missing; returns an fd.

    Like ``mkdir -p`` inside a chroot: a dangling symlink on the way is followed (its target made,
    resolved inside the root), as BuildKit does for ``COPY x /link/``.
    """
    parts = [p for p in path.split("/") if p not in ("", ".")]
    for i in range(len(parts) + 1):
        prefix = "/".join(parts[:i]) or "."
        try:
            fd = open_in_root(root_fd, prefix)
        except FileNotFoundError:
            parent = open_in_root(root_fd, "/".join(parts[: i - 1]) or ".")
            try:
                try:
                    os.mkdir(parts[i - 1], 0o755, dir_fd=parent)
                except FileExistsError:
                    st = os.stat(parts[i - 1], dir_fd=parent, follow_symlinks=False)
                    if not stat.S_ISLNK(st.st_mode) or _hops > 40:
                        raise ImageError(f"{what}: cannot create /{prefix}") from None
                    target = os.readlink(parts[i - 1], dir_fd=parent)
                    base = "" if target.startswith("/") else "/".join(parts[: i - 1])
                    rest = "/".join([base, target, *parts[i:]])
                    return mkdirs_in_root(root_fd, rest, what, _hops + 1)
            finally:
                os.close(parent)
            fd = open_in_root(root_fd, prefix)
        except NotADirectoryError:
            raise ImageError(f"{what}: /{prefix} exists and is not a directory") from None
        if i < len(parts):
            os.close(fd)
    return fd


def _is_dir_in_root(root_fd: int, path: str) -> bool:
    try:
        os.close(open_in_root(root_fd, path))
        return True
    except OSError:
        return False


def _gunzip(f: BinaryIO) -> BinaryIO:
    return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]


def _archive_stream(f: BinaryIO) -> BinaryIO | None:
    """The decompressed stream of a tar archive, or None when ``f`` is not one (then it is copied)."""
    head = f.read(_TAR_MAGIC_OFFSET + 8)
    f.seek(0)
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return f  # unpack_layer's "auto" handles zstd
    if head[_TAR_MAGIC_OFFSET:_TAR_MAGIC_OFFSET + 5] == b"ustar":
        return f
    opener: Callable[[BinaryIO], BinaryIO]
    if head.startswith(b"\x1f\x8b"):
        opener = _gunzip
    elif head.startswith(b"BZh"):
        opener = bz2.BZ2File  # type: ignore[assignment]
    elif head.startswith(b"\xfd7zXZ\x00"):
        opener = lzma.LZMAFile  # type: ignore[assignment]
    else:
        return None
    with opener(f) as probe:
        inner_head = probe.read(_TAR_MAGIC_OFFSET + 8)
    f.seek(0)
    if inner_head[_TAR_MAGIC_OFFSET:_TAR_MAGIC_OFFSET + 5] != b"ustar":
        return None
    return opener(f)


def run_copy(merged: Path, req: CopyRequest, what: str) -> None:
    if len(req.sources) > 1 and not req.dest_is_dir:
        raise ImageError(f"{what}: with more than one source the destination must be a directory ending in /")
    root_fd = os.open(merged, DIR_FLAGS)
    src_fd = os.open(req.src_root, DIR_FLAGS)
    try:
        for src in req.sources:
            _copy_one(root_fd, src_fd, src, req, what)
    except PystackError:
        raise
    except OSError as exc:
        raise ImageError(f"{what}: {exc.strerror or exc} ({exc.filename or req.dest})") from None
    finally:
        os.close(root_fd)
        os.close(src_fd)


def _opts(req: CopyRequest) -> CopyOptions:
    return CopyOptions(owner=req.owner, mode=req.mode, dir_mode=req.mode, keep_owner=req.keep_owner,
                       skip=req.skip)


def _copy_one(root_fd: int, src_fd: int, src: Source, req: CopyRequest, what: str) -> None:
    parts = [p for p in src.rel.split("/") if p]
    if src.is_dir:
        dfd = mkdirs_in_root(root_fd, req.dest, what)
        sfd = open_dir_beneath(src_fd, parts, create=False, what=what)
        try:
            copy_contents(sfd, dfd, _opts(req), src.rel)
        finally:
            os.close(sfd)
            os.close(dfd)
        return
    if not parts:
        raise ImageError(f"{what}: source is not a file or directory")
    if req.unpack_archives and _try_unpack(src, root_fd, req, what):
        return
    if req.dest_is_dir or req.dest.endswith("/") or _is_dir_in_root(root_fd, req.dest):
        dest_dir, name = req.dest, parts[-1]
    else:
        dest_dir, name = posixpath.dirname(req.dest.rstrip("/")) or "/", posixpath.basename(req.dest.rstrip("/"))
    dfd = mkdirs_in_root(root_fd, dest_dir, what)
    sfd = open_dir_beneath(src_fd, parts[:-1], create=False, what=what)
    try:
        st = os.stat(parts[-1], dir_fd=sfd, follow_symlinks=False)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            raise ImageError(f"{what}: {src.rel} is not a regular file")
        copy_entry(sfd, parts[-1], dfd, name, _opts(req))
    finally:
        os.close(sfd)
        os.close(dfd)


def _try_unpack(src: Source, root_fd: int, req: CopyRequest, what: str) -> bool:
    with open(src.path, "rb") as f:
        stream = _archive_stream(f)
        if stream is None:
            return False
        dfd = mkdirs_in_root(root_fd, req.dest, what)
        try:
            unpack_layer(stream, Path(f"/proc/self/fd/{dfd}"), compression="auto")
        except ImageError as exc:
            raise ImageError(f"{what}: cannot unpack {src.rel}: {exc}") from None
        finally:
            os.close(dfd)
    return True


def parse_chmod(value: str, what: str) -> int:
    try:
        mode = int(value, 8)
    except ValueError:
        raise ImageError(f"{what}: --chmod={value} is not an octal mode") from None
    if not 0 <= mode <= 0o7777:
        raise ImageError(f"{what}: --chmod={value} is out of range")
    return mode


def parse_chown(value: str, rootfs: Path, what: str) -> tuple[int, int]:
    """``uid[:gid]`` or names from the image's passwd/group; a lone user uses the same id as group."""
    user, _, group = value.partition(":")
    if user.isdigit() and (not group or group.isdigit()):
        return int(user), int(group) if group else int(user)
    from orchestrator.runtime.config_builder import resolve_user

    try:
        uid, gid, _, _ = resolve_user(rootfs, value)
    except PystackError as exc:
        raise ImageError(f"{what}: --chown={value}: {exc}") from None
    return uid, gid


def context_for(root: Path) -> Context:
    from orchestrator.images.build.dockerignore import Ignore

    return Context(root, Ignore([]))
