"""Copy a directory tree fd-to-fd, never following a symlink of the source or the destination.

Used for volume copy-up (image content → new volume) and for the builder's ``COPY``/``ADD``.
The source may be an image (untrusted): symlinks are copied as symlinks, hard links inside the
copied tree stay hard links, and ``trusted.overlay.*`` xattrs are never carried over.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.storage.safepath import UnsafePath, open_dir_beneath

_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class CopyOptions:
    """``owner`` replaces uid/gid of everything copied; ``mode`` replaces permission bits."""

    owner: tuple[int, int] | None = None
    mode: int | None = None
    dir_mode: int | None = None
    keep_owner: bool = True
    skip: Callable[[str], bool] | None = None  # relative path → leave out (.dockerignore)
    root_fd: int = -1  # destination root the hard-link table is relative to
    links: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)


def copy_xattrs(src: int | str, dst: int | str) -> None:
    follow = not isinstance(src, str)
    try:
        names = os.listxattr(src, follow_symlinks=follow)
    except OSError:
        return
    for name in names:
        if name.startswith("trusted.overlay."):
            continue
        try:
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=follow), follow_symlinks=follow)
        except OSError as exc:
            if exc.errno not in (errno.ENOTSUP, errno.EPERM, errno.ENODATA):
                raise


def _owner(st: os.stat_result, opts: CopyOptions) -> tuple[int, int] | None:
    if opts.owner is not None:
        return opts.owner
    return (st.st_uid, st.st_gid) if opts.keep_owner and os.geteuid() == 0 else None


def clear_entry(dfd: int, name: str, *, keep_dir: bool) -> None:
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if not keep_dir:
            shutil.rmtree(name, dir_fd=dfd)
    else:
        os.unlink(name, dir_fd=dfd)


def copy_entry(sfd: int, sname: str, dfd: int, dname: str, opts: CopyOptions, rel: str = "",
               drel: tuple[str, ...] = ()) -> None:
    """Copy ``sname`` under dir fd ``sfd`` to ``dname`` under ``dfd`` (directories recursively)."""
    st = os.stat(sname, dir_fd=sfd, follow_symlinks=False)
    mode = st.st_mode
    clear_entry(dfd, dname, keep_dir=stat.S_ISDIR(mode))
    if stat.S_ISDIR(mode):
        with contextlib.suppress(FileExistsError):
            os.mkdir(dname, 0o700, dir_fd=dfd)
        s2 = os.open(sname, _NOFOLLOW_DIR, dir_fd=sfd)
        d2 = os.open(dname, _NOFOLLOW_DIR, dir_fd=dfd)
        try:
            copy_contents(s2, d2, opts, rel, drel)
            _meta_fd(d2, st, opts, opts.dir_mode if opts.dir_mode is not None else opts.mode)
            copy_xattrs(s2, d2)
            os.utime(d2, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(s2)
            os.close(d2)
        return
    if st.st_nlink > 1 and opts.root_fd >= 0 and _link_seen(st, dfd, dname, opts):
        return
    if stat.S_ISREG(mode):
        _copy_file(sfd, sname, dfd, dname, st, opts)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(sname, dir_fd=sfd), dname, dir_fd=dfd)
        owner = _owner(st, opts)
        if owner:
            os.chown(dname, *owner, dir_fd=dfd, follow_symlinks=False)
        copy_xattrs(f"/proc/self/fd/{sfd}/{sname}", f"/proc/self/fd/{dfd}/{dname}")
        os.utime(dname, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dfd, follow_symlinks=False)
    else:  # device nodes, fifos, sockets
        os.mknod(dname, stat.S_IFMT(mode) | 0o600, st.st_rdev, dir_fd=dfd)
        owner = _owner(st, opts)
        if owner:
            os.chown(dname, *owner, dir_fd=dfd, follow_symlinks=False)
        os.chmod(dname, stat.S_IMODE(mode) if opts.mode is None else opts.mode, dir_fd=dfd)
        os.utime(dname, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dfd, follow_symlinks=False)
    if st.st_nlink > 1 and opts.root_fd >= 0:
        opts.links.setdefault((st.st_dev, st.st_ino), drel)


def _link_seen(st: os.stat_result, dfd: int, dname: str, opts: CopyOptions) -> bool:
    seen = opts.links.get((st.st_dev, st.st_ino))
    if not seen:
        return False
    try:
        pfd = open_dir_beneath(opts.root_fd, list(seen[:-1]), create=False)
    except (OSError, UnsafePath):
        return False
    try:
        os.link(seen[-1], dname, src_dir_fd=pfd, dst_dir_fd=dfd, follow_symlinks=False)
        return True
    except OSError:
        return False
    finally:
        os.close(pfd)


def _copy_file(sfd: int, sname: str, dfd: int, dname: str, st: os.stat_result, opts: CopyOptions) -> None:
    src = os.open(sname, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=sfd)
    try:
        dst = os.open(dname, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                      dir_fd=dfd)
        try:
            remaining = st.st_size
            while remaining > 0:
                try:
                    n = os.copy_file_range(src, dst, remaining)
                except OSError:
                    n = os.sendfile(dst, src, None, remaining)
                if n == 0:
                    break
                remaining -= n
            _meta_fd(dst, st, opts, opts.mode)
            copy_xattrs(src, dst)
            os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _meta_fd(fd: int, st: os.stat_result, opts: CopyOptions, mode: int | None) -> None:
    owner = _owner(st, opts)
    if owner:
        os.fchown(fd, *owner)
    os.fchmod(fd, stat.S_IMODE(st.st_mode) if mode is None else mode)


def copy_contents(sfd: int, dfd: int, opts: CopyOptions, rel: str = "", drel: tuple[str, ...] = ()) -> None:
    """Copy every entry of directory fd ``sfd`` into directory fd ``dfd`` (merging directories)."""
    owned = opts.root_fd < 0
    if owned:
        opts.root_fd, drel = dfd, ()
    try:
        with os.scandir(sfd) as it:
            names = sorted(e.name for e in it)
        for name in names:
            sub = f"{rel}/{name}" if rel else name
            if opts.skip is not None and opts.skip(sub):
                continue
            copy_entry(sfd, name, dfd, name, opts, sub, (*drel, name))
    finally:
        if owned:  # the fd belongs to our caller; forget it with the table that refers to it
            opts.root_fd = -1
            opts.links.clear()
