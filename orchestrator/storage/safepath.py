"""Open directories strictly beneath a root, never through a symlink.

Layer tars and image roots are untrusted: a string join such as ``root / name`` can be redirected
by a symlink planted earlier (``etc -> /etc``) or by ``..``. Every path here is resolved from an
open directory fd of the root: first with ``openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)``
(the kernel refuses to leave the root or follow a link, in one syscall), and where that is not
available, one component at a time with ``O_NOFOLLOW | O_DIRECTORY`` relative to the previous fd.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
import struct
from typing import Any

from orchestrator.errors import ImageError

_SYS_OPENAT2 = 437  # x86_64 and aarch64 share this number (generic syscall table, 5.6+)
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

_have_openat2: bool | None = None

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW


class UnsafePath(ImageError):
    """A path would leave its root or pass through a symlink."""


def split_member(name: str) -> list[str]:
    """Split a tar member name into components, refusing ``..`` and dropping ``.``/leading ``/``.

    Absolute names are taken relative to the layer root, as Docker and GNU tar do; ``..`` is refused
    outright because no honest layer needs it and cleaning it silently hides an attack.
    """
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafePath(f"layer entry {name!r} contains '..'; refusing to unpack")
    if any("\0" in p for p in parts):
        raise UnsafePath(f"layer entry {name!r} contains a NUL byte")
    return parts


@functools.cache
def _syscall() -> Any:
    """libc's ``syscall``, loaded on first use: a command that imports this module on its way
    elsewhere (an ``up`` with nothing to do) does not pay for ctypes (~2 ms here)."""
    import ctypes

    fn = ctypes.CDLL(None, use_errno=True).syscall
    fn.restype = ctypes.c_long
    return fn


def openat2(dir_fd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    """The raw ``openat2`` syscall; raises OSError (ENOSYS when the kernel lacks it)."""
    syscall = _syscall()
    import ctypes  # loaded by _syscall already

    how = struct.pack("QQQ", flags, mode, resolve)
    buf = ctypes.create_string_buffer(how, len(how))
    fd = syscall(_SYS_OPENAT2, dir_fd, os.fsencode(path), buf, len(how))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return int(fd)


def have_openat2() -> bool:
    global _have_openat2
    if _have_openat2 is None:
        try:
            os.close(openat2(os.open("/", DIR_FLAGS), ".", DIR_FLAGS, RESOLVE_BENEATH))
            _have_openat2 = True
        except OSError:
            _have_openat2 = False
    return _have_openat2


def _walk_open(root_fd: int, parts: list[str], create: bool, what: str) -> int:
    fd = os.dup(root_fd)
    try:
        for i, part in enumerate(parts):
            try:
                nfd = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                nfd = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                    where = "/".join(parts[: i + 1])
                    if stat.S_ISLNK(st.st_mode):
                        raise UnsafePath(f"{what} goes through symlink {where!r}; refusing to follow it") \
                            from None
                    raise UnsafePath(f"{what}: {where!r} is not a directory") from None
                raise
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_dir_beneath(root_fd: int, parts: list[str], *, create: bool = True, what: str = "path") -> int:
    """Return an fd of directory ``parts`` under ``root_fd``, creating missing ones (mode 0755).

    Symlinks anywhere on the way are refused with :class:`UnsafePath`; the caller closes the fd.
    """
    if not parts:
        return os.dup(root_fd)
    if have_openat2():
        try:
            return openat2(root_fd, "/".join(parts), DIR_FLAGS,
                           RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EXDEV):
                raise
    return _walk_open(root_fd, parts, create, what)


def open_in_root(root_fd: int, path: str, flags: int = DIR_FLAGS) -> int:
    """Open ``path`` as a container would see it: symlinks resolve with ``root_fd`` as ``/``.

    Used to read an image's content (volume copy-up, ``COPY --from``), where absolute symlinks
    inside the image are legitimate and must stay inside it.
    """
    flags |= os.O_CLOEXEC
    flags &= ~os.O_NOFOLLOW
    if have_openat2():
        return openat2(root_fd, path.lstrip("/") or ".", flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
    return _resolve_in_root_slow(root_fd, path, flags)


def _resolve_in_root_slow(root_fd: int, path: str, flags: int, depth: int = 0) -> int:
    """Userspace RESOLVE_IN_ROOT for kernels without openat2: symlinks re-rooted, ``..`` clamped."""
    stack: list[str] = []
    todo = [p for p in path.split("/") if p not in ("", ".")]
    hops = 0
    while todo:
        part = todo.pop(0)
        if part == "..":
            if stack:
                stack.pop()
            continue
        parent = _walk_open(root_fd, stack, False, path)
        try:
            try:
                st = os.stat(part, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                raise
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > 40:
                    raise OSError(errno.ELOOP, "too many symlinks", path)
                target = os.readlink(part, dir_fd=parent)
                if target.startswith("/"):
                    stack = []
                todo = [p for p in target.split("/") if p not in ("", ".")] + todo
                continue
        finally:
            os.close(parent)
        stack.append(part)
    if not stack:
        return os.open(".", flags, dir_fd=root_fd)
    parent = _walk_open(root_fd, stack[:-1], False, path)
    try:
        return os.open(stack[-1], flags | os.O_NOFOLLOW, dir_fd=parent)
    finally:
        os.close(parent)
