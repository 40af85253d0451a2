"""Resolving paths inside a container root without ever leaving it (the CVE-2021-30465 class).

Every lookup goes through ``openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`` from an fd of the
root, so ``..`` and absolute symlinks planted by the image or by another container stop at the
root. Mount targets are then addressed as ``/proc/self/fd/N`` of the O_PATH fd, so the kernel
mounts on exactly the inode we resolved, not on whatever a racing rename put at the path later.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath

from orchestrator.runtime import kernel

_RESOLVE = kernel.RESOLVE_IN_ROOT | kernel.RESOLVE_NO_MAGICLINKS
O_PATH = getattr(os, "O_PATH", 0o10000000)


def open_in_root(root_fd: int, path: str, flags: int = O_PATH) -> int:
    return kernel.openat2(root_fd, path.lstrip("/") or ".", flags | os.O_CLOEXEC, _RESOLVE)


def ensure_in_root(root_fd: int, path: str, *, directory: bool = True, mode: int = 0o755, _depth: int = 0) -> int:
    """Open ``path`` under the root as O_PATH, creating missing parts (dirs, or a final empty file).

    Each prefix is resolved from the root again, so a symlink met on the way is followed as the
    container would see it; a dangling one has its target created inside the root. Every
    creation is a single name relative to a resolved dir fd.
    """
    try:
        return open_in_root(root_fd, path)
    except FileNotFoundError:
        pass
    if _depth > 40:
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
    parts = [p for p in path.split("/") if p and p != "."]
    for i, name in enumerate(parts):
        prefix = "/".join(parts[: i + 1])
        try:
            fd = open_in_root(root_fd, prefix)
        except FileNotFoundError:
            parent = open_in_root(root_fd, "/".join(parts[:i]), os.O_RDONLY | os.O_DIRECTORY)
            try:
                try:
                    target = os.readlink(name, dir_fd=parent)
                except OSError:
                    target = None
                if target is not None:  # dangling symlink: make its target, inside the root
                    base = target if target.startswith("/") else "/" + "/".join(parts[:i]) + "/" + target
                    rest = "/".join(parts[i + 1 :])
                    full = posixpath.normpath(base + ("/" + rest if rest else ""))
                    return ensure_in_root(root_fd, full, directory=directory, mode=mode, _depth=_depth + 1)
                if i == len(parts) - 1 and not directory:
                    flags = os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW
                    os.close(os.open(name, flags, 0o644, dir_fd=parent))
                else:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, mode, dir_fd=parent)
            finally:
                os.close(parent)
            fd = open_in_root(root_fd, prefix)
        if i == len(parts) - 1:
            return fd
        os.close(fd)
    return open_in_root(root_fd, path)


def fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"
