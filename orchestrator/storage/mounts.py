"""Thin wrappers over the mount syscalls Python lacks: mount(2), umount2(2) and the new mount API.

The new API (``fsopen``/``fsconfig``/``fsmount``/``move_mount``, Linux 5.2; ``lowerdir+`` for
overlayfs since 6.8) passes each option separately, so an overlay of hundreds of layers is not
limited by the one-page option string of ``mount(2)``; the kernel's own error text is read back
from the fs context fd and put in the message.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from orchestrator.errors import RuntimeFailure

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]

# x86_64 / aarch64 (the generic table shares these since 5.2)
SYS_MOVE_MOUNT, SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT = 429, 430, 431, 432
FSOPEN_CLOEXEC = 0x1
FSCONFIG_SET_FLAG, FSCONFIG_SET_STRING, FSCONFIG_CMD_CREATE = 0, 1, 6
FSMOUNT_CLOEXEC = 0x1
MOUNT_ATTR_RDONLY = 0x1
MOVE_MOUNT_F_EMPTY_PATH = 0x4
AT_FDCWD = -100
MS_RDONLY = 0x1
MS_BIND = 0x1000
MNT_DETACH = 0x2
UMOUNT_NOFOLLOW = 0x8


class MountError(RuntimeFailure):
    def __init__(self, message: str, errno_: int = 0) -> None:
        super().__init__(message)
        self.errno = errno_


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise MountError(f"{what}: {os.strerror(err)}", err)
    return ret


class FsContext:
    """One ``fsopen`` context: set options one at a time, then mount it on a path."""

    def __init__(self, fstype: str) -> None:
        self.fstype = fstype
        self.fd = _check(_libc.syscall(SYS_FSOPEN, fstype.encode(), FSOPEN_CLOEXEC), f"fsopen({fstype})")

    def _kernel_log(self) -> str:
        lines = []
        while True:
            try:
                msg = os.read(self.fd, 1024)
            except OSError:
                break
            if not msg:
                break
            lines.append(msg.decode(errors="replace").strip())
        return "; ".join(lines)

    def _fail(self, what: str) -> None:
        err = ctypes.get_errno()
        log = self._kernel_log()
        detail = f" ({log})" if log else ""
        raise MountError(f"{self.fstype} {what}: {os.strerror(err)}{detail}", err)

    def set_string(self, key: str, value: str) -> None:
        if _libc.syscall(SYS_FSCONFIG, self.fd, FSCONFIG_SET_STRING, key.encode(), os.fsencode(value), 0) < 0:
            self._fail(f"option {key}={value}")

    def set_flag(self, key: str) -> None:
        if _libc.syscall(SYS_FSCONFIG, self.fd, FSCONFIG_SET_FLAG, key.encode(), None, 0) < 0:
            self._fail(f"option {key}")

    def mount_at(self, target: Path, *, readonly: bool = False) -> None:
        if _libc.syscall(SYS_FSCONFIG, self.fd, FSCONFIG_CMD_CREATE, None, None, 0) < 0:
            self._fail("create")
        attrs = MOUNT_ATTR_RDONLY if readonly else 0
        mfd = _libc.syscall(SYS_FSMOUNT, self.fd, FSMOUNT_CLOEXEC, attrs)
        if mfd < 0:
            self._fail("fsmount")
        try:
            dst = os.fsencode(target)
            ret = _libc.syscall(SYS_MOVE_MOUNT, mfd, b"", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH)
            _check(ret, f"move_mount to {target}")
        finally:
            os.close(mfd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> FsContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mount(source: str, target: Path, fstype: str, flags: int = 0, data: str = "") -> None:
    ret = _libc.mount(source.encode(), os.fsencode(target), fstype.encode(), flags, data.encode())
    _check(ret, f"mount {fstype} on {target}")


def umount(target: Path, *, lazy: bool = False) -> None:
    flags = UMOUNT_NOFOLLOW | (MNT_DETACH if lazy else 0)
    _check(_libc.umount2(os.fsencode(target), flags), f"umount {target}")


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal ``\\ooo``."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) + 1 and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_points() -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        return [_unescape(line.split(" ", 5)[4]) for line in f]


def is_mountpoint(path: Path) -> bool:
    """Whether ``path`` (its symlinks followed) is the root of a mount.

    The answer comes from the mount ids of ``path`` and of its parent, which ``fdinfo`` shows for
    an ``O_PATH`` descriptor: they differ exactly when ``path`` is where a mount sits, bind mounts
    of the same filesystem included (which comparing device numbers misses). Searching
    /proc/self/mountinfo instead costs a read of the whole mount table, and a host running fifty
    containers has a few hundred lines in it; mountinfo stays the answer on a kernel whose fdinfo
    has no ``mnt_id`` (before 3.15)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        try:
            parent = os.open("..", os.O_PATH | os.O_CLOEXEC, dir_fd=fd)
        except NotADirectoryError:  # a file bind-mounted over another: its directory is the parent
            parent = os.open(os.path.dirname(os.path.realpath(path)), os.O_PATH | os.O_CLOEXEC)
        try:
            here, up = os.fstat(fd), os.fstat(parent)
            if (here.st_dev, here.st_ino) == (up.st_dev, up.st_ino):
                return True  # "/" is its own parent, and always a mount
            ids = _mount_id(fd), _mount_id(parent)
        finally:
            os.close(parent)
    finally:
        os.close(fd)
    if None in ids:
        return os.path.realpath(path) in mount_points()
    return ids[0] != ids[1]


def _mount_id(fd: int) -> int | None:
    try:
        with open(f"/proc/self/fdinfo/{fd}", "rb") as f:
            for line in f:
                if line.startswith(b"mnt_id:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None
