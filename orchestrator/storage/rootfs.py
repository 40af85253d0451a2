"""A container's root filesystem: an overlay of shared read-only layers under its own upper dir.

``container_dir/{upper,work,merged}``: ``upper`` is the container's writable layer (kept across
restarts, and what a build step turns into a layer), ``work`` is overlayfs scratch, ``merged`` the
mount. Layers are added one option each with ``lowerdir+`` through the new mount API, so any
number fits; on kernels without it, the classic option string is used, shortened by symlinks
``container_dir/l/<n>`` and a relative path when it would pass the one-page limit.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

from orchestrator.errors import RuntimeFailure
from orchestrator.storage.mounts import FsContext, MountError, is_mountpoint, mount, umount

_PAGE = os.sysconf("SC_PAGE_SIZE")
_chdir_lock = threading.Lock()
_OPTIONS = ("index=off", "xino=off")


def mount_rootfs(lower_dirs: list[Path], container_dir: Path, *, readonly: bool = False) -> Path:
    """Mount the overlay and return ``container_dir/merged``; ``lower_dirs`` is LOWEST first.

    With no layers at all (``FROM scratch``) an empty directory stands in as the only lower.
    """
    upper, work, merged = (container_dir / n for n in ("upper", "work", "merged"))
    for d in (upper, work, merged):
        d.mkdir(parents=True, exist_ok=True)
    if is_mountpoint(merged):
        raise RuntimeFailure(f"root filesystem already mounted at {merged}")
    lowers = [Path(p).resolve() for p in lower_dirs]
    if not lowers:
        empty = container_dir / "empty"
        empty.mkdir(exist_ok=True)
        lowers = [empty]
    for p in lowers:
        if not p.is_dir():
            raise RuntimeFailure(f"image layer directory {p} is missing; pull or load the image again")
    top_first = list(reversed(lowers))
    try:
        _mount_new_api(top_first, upper, work, merged, readonly)
    except MountError as exc:
        unsupported = exc.errno == errno.ENOSYS or (exc.errno == errno.EINVAL and "lowerdir+" in str(exc))
        if not unsupported:
            raise RuntimeFailure(f"cannot mount root filesystem at {merged}: {exc}") from None
        _mount_classic(top_first, container_dir, upper, work, merged, readonly)
    return merged


def _mount_new_api(top_first: list[Path], upper: Path, work: Path, merged: Path, readonly: bool) -> None:
    with FsContext("overlay") as fc:
        fc.set_string("source", "pystack")
        for p in top_first:
            fc.set_string("lowerdir+", str(p))
        fc.set_string("upperdir", str(upper))
        fc.set_string("workdir", str(work))
        for opt in _OPTIONS:
            key, _, value = opt.partition("=")
            fc.set_string(key, value)
        fc.mount_at(merged, readonly=readonly)


def _mount_classic(top_first: list[Path], container_dir: Path, upper: Path, work: Path, merged: Path,
                   readonly: bool) -> None:
    flags = 1 if readonly else 0  # MS_RDONLY
    data = f"lowerdir={':'.join(map(str, top_first))},upperdir={upper},workdir={work},{','.join(_OPTIONS)}"
    try:
        if len(data) < _PAGE - 1:
            mount("pystack", merged, "overlay", flags, data)
            return
        links = container_dir / "l"
        links.mkdir(exist_ok=True)
        names = []
        for i, p in enumerate(top_first):
            name = format(i, "x")
            link = links / name
            if link.is_symlink():
                link.unlink()
            link.symlink_to(p)
            names.append(f"l/{name}")
        data = f"lowerdir={':'.join(names)},upperdir=upper,workdir=work,{','.join(_OPTIONS)}"
        if len(data) >= _PAGE - 1:
            raise RuntimeFailure(f"image has too many layers ({len(top_first)}) for this kernel's overlayfs")
        with _chdir_lock:  # the relative paths resolve against the cwd, which is process-wide
            old = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.chdir(container_dir)
                mount("pystack", Path("merged"), "overlay", flags, data)
            finally:
                os.fchdir(old)
                os.close(old)
    except MountError as exc:
        raise RuntimeFailure(f"cannot mount root filesystem at {merged}: {exc}") from None


def unmount_rootfs(container_dir: Path) -> None:
    """Unmount ``merged`` (lazily when busy); a no-op when it is not mounted. Keeps ``upper``.

    The kernel says whether a mount is there: ``umount2`` of a path that is no mount's root fails
    with EINVAL (ENOENT when it is missing). Asking /proc/self/mountinfo first read the whole
    mount table twice per container, which a ``down`` of fifty did a hundred times."""
    merged = container_dir / "merged"
    for _ in range(16):  # stacked mounts on the same point come off one at a time
        try:
            umount(merged)
        except MountError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOENT):
                return
            if exc.errno != errno.EBUSY:
                raise RuntimeFailure(f"cannot unmount {merged}: {exc}") from None
            umount(merged, lazy=True)


def is_mounted(path: Path) -> bool:
    return is_mountpoint(path)
