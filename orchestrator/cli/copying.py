"""``pystack cp``: copy between a container's root and the host without leaving either side.

The container side is opened with the root as ``/`` (``RESOLVE_IN_ROOT``), so a symlink planted in
the container cannot point the copy at a host path; the copy itself never follows symlinks.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from orchestrator.errors import PystackError
from orchestrator.storage.fscopy import CopyOptions, copy_entry
from orchestrator.storage.safepath import DIR_FLAGS, open_in_root


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


def copy_out(root: Path, path: str, dest: Path) -> None:
    parent, name = _split(path)
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            sfd = open_in_root(root_fd, parent)
        except OSError as exc:
            raise PystackError(f"cp: {parent}: {exc.strerror}") from None
        dfd, dname = _host_target(dest, name)
        try:
            copy_entry(sfd, name, dfd, dname, CopyOptions(root_fd=dfd))
        except FileNotFoundError:
            raise PystackError(f"cp: {path}: no such file in the container") from None
        finally:
            os.close(sfd)
            os.close(dfd)
    finally:
        os.close(root_fd)


def copy_in(src: Path, root: Path, path: str) -> None:
    if not os.path.lexists(src):
        raise PystackError(f"cp: {src}: no such file")
    parent, name = _split(path)
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            dfd = open_in_root(root_fd, posixpath.join(parent, name))
            dname = src.name  # an existing directory: copy into it
        except OSError:
            dfd = open_in_root(root_fd, parent)
            dname = name
        sfd = os.open(src.parent, DIR_FLAGS & ~os.O_NOFOLLOW)
        try:
            copy_entry(sfd, src.name, dfd, dname, CopyOptions(root_fd=dfd))
        finally:
            os.close(sfd)
            os.close(dfd)
    finally:
        os.close(root_fd)
