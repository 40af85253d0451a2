"""Changes under a set of host paths, from the kernel's inotify, as full path names.

inotify watches one directory at a time, so a tree is a watch per directory, added as directories
appear and dropped as they go. The caller only ever gets paths: a new directory (made or moved in)
is reported with everything already in it, since its files may have been written before its watch
existed; a directory moved away is reported as its old path (gone). When the kernel's queue
overflows, events were lost and the caller is told so (:data:`OVERFLOW`) to look at everything
again. Waiting is a ``select`` on the inotify descriptor: no polling.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import select
import struct
from collections.abc import Callable, Iterable

OVERFLOW = "\0overflow"  # not a path: events were lost, every watched root may have changed

_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF = 0x400, 0x800
_IN_Q_OVERFLOW, _IN_IGNORED = 0x4000, 0x8000
_IN_ONLYDIR, _IN_DONT_FOLLOW, _IN_EXCL_UNLINK, _IN_ISDIR = 0x1000000, 0x2000000, 0x4000000, 0x40000000
_DIR_MASK = (_IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
             | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR | _IN_DONT_FOLLOW | _IN_EXCL_UNLINK)
_EVENT = struct.Struct("iIII")

_libc = ctypes.CDLL(None, use_errno=True)


class WatchError(OSError):
    """A path cannot be watched (too many watches, no such directory)."""


class Inotify:
    """Recursive watches over directories; ``prune(dir)`` says a directory need not be watched."""

    def __init__(self, prune: Callable[[str], bool] | None = None) -> None:
        fd = _libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            e = ctypes.get_errno()
            raise WatchError(e, f"inotify: {os.strerror(e)}")
        self.fd: int = fd
        self._prune = prune or (lambda _d: False)
        self._paths: dict[int, str] = {}  # watch descriptor -> directory
        self._wds: dict[str, int] = {}

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Inotify:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def watch(self, path: str) -> None:
        """Watch ``path``: a directory with everything below it, or the directory a file is in."""
        if os.path.isdir(path) and not os.path.islink(path):
            self._add_tree(path)
        elif os.path.lexists(path):
            self._add_dir(os.path.dirname(path) or "/")
        else:
            raise WatchError(errno.ENOENT, f"{path}: no such file or directory")

    def _add_dir(self, path: str) -> bool:
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(path), _DIR_MASK)
        if wd < 0:
            e = ctypes.get_errno()
            if e in (errno.ENOENT, errno.ENOTDIR, errno.EACCES):
                return False  # gone (or replaced) before it could be watched: its removal is reported
            if e == errno.ENOSPC:
                raise WatchError(e, f"{path}: too many directories to watch (raise the sysctl "
                                    "fs.inotify.max_user_watches, or ignore the big ones)")
            raise WatchError(e, f"{path}: {os.strerror(e)}")
        self._paths[wd] = path
        self._wds[path] = wd
        return True

    def _add_tree(self, top: str) -> list[str]:
        """Watch ``top`` and its subdirectories; the paths found under it (for a new directory)."""
        found: list[str] = []
        if not self._add_dir(top):
            return found
        for dirpath, dirnames, filenames in os.walk(top):
            keep = []
            for d in dirnames:
                full = os.path.join(dirpath, d)
                found.append(full)
                if not self._prune(full) and self._add_dir(full):
                    keep.append(d)
            dirnames[:] = keep
            found.extend(os.path.join(dirpath, f) for f in filenames)
        return found

    def _forget_tree(self, top: str) -> None:
        prefix = top + "/"
        for path in [p for p in self._wds if p == top or p.startswith(prefix)]:
            wd = self._wds.pop(path)
            self._paths.pop(wd, None)
            _libc.inotify_rm_watch(self.fd, wd)  # its IN_IGNORED finds nothing left to drop

    def wait(self, timeout: float | None, wake_fd: int | None = None) -> bool:
        """Whether events are ready within ``timeout`` seconds (None: until there are, or ``wake_fd`` is
        readable). Returns False on the timeout or the wake-up."""
        fds = [self.fd] if wake_fd is None else [self.fd, wake_fd]
        ready, _, _ = select.select(fds, [], [], timeout)
        return self.fd in ready

    def read(self) -> set[str]:
        """The paths that changed in what the kernel has queued now (possibly none)."""
        changed: set[str] = set()
        while True:
            try:
                buf = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return changed
            self._parse(buf, changed)

    def _parse(self, buf: bytes, changed: set[str]) -> None:
        pos = 0
        while pos + _EVENT.size <= len(buf):
            wd, mask, _cookie, size = _EVENT.unpack_from(buf, pos)
            raw = buf[pos + _EVENT.size: pos + _EVENT.size + size].rstrip(b"\0")
            pos += _EVENT.size + size
            if mask & _IN_Q_OVERFLOW:
                changed.add(OVERFLOW)
                continue
            base = self._paths.get(wd)
            if mask & _IN_IGNORED:
                if base is not None:
                    self._paths.pop(wd, None)
                    if self._wds.get(base) == wd:
                        del self._wds[base]
                continue
            if base is None:
                continue
            if not raw:  # the watched directory itself was deleted or moved
                changed.add(base)
                continue
            path = os.path.join(base, os.fsdecode(raw))
            changed.add(path)
            if mask & _IN_ISDIR:
                if mask & _IN_MOVED_FROM:
                    self._forget_tree(path)
                elif mask & (_IN_CREATE | _IN_MOVED_TO) and not self._prune(path):
                    with contextlib.suppress(FileNotFoundError):
                        changed.update(self._add_tree(path))

    @property
    def watched(self) -> Iterable[str]:
        return tuple(self._wds)
