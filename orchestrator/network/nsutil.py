"""Named network namespaces without spawning ``ip`` and without pyroute2.

A namespace is created in a short-lived thread (``unshare(CLONE_NEWNET)`` changes only the calling
thread) and pinned by a bind mount under ``/run/netns`` exactly where ``ip netns`` keeps its own, so
operators can ``ip netns exec`` into a container's network. The pin, not any process, keeps the
namespace alive: that is what lets ``network_mode: service:x`` dependants survive a restart of x.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SHARED = 1 << 20
MNT_DETACH = 2
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

NETNS_DIR = Path("/run/netns")
T = TypeVar("T")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_run_dir_ready = False


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src: str | None, dst: str, flags: int) -> None:
    _check(
        _libc.mount(src.encode() if src else b"none", dst.encode(), b"none", flags, None),
        f"mount {dst}",
    )


def ensure_run_dir(base: Path = NETNS_DIR) -> None:
    """Make ``/run/netns`` a shared mount as iproute2 does, so pins propagate to every mount namespace."""
    global _run_dir_ready
    if _run_dir_ready:
        return
    base.mkdir(parents=True, exist_ok=True)
    try:
        _mount(None, str(base), MS_SHARED | MS_REC)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        _mount(str(base), str(base), MS_BIND | MS_REC)
        _mount(None, str(base), MS_SHARED | MS_REC)
    _run_dir_ready = True


def is_pinned(path: Path) -> bool:
    """True when ``path`` is a bind-mounted namespace (not a stale empty file left by a crash)."""
    return _is_nsfs(path)


def _is_nsfs(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("net:")
    finally:
        os.close(fd)


def _set_lo_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def _in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a fresh OS thread, so namespace changes never leak into the caller's thread."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    t = threading.Thread(target=run, name="pystack-netns")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def enter(path: Path) -> None:
    """Move the calling thread into the network namespace at ``path``."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, CLONE_NEWNET), f"setns {path}")
    finally:
        os.close(fd)


def run_in(path: Path, fn: Callable[[], T]) -> T:
    """Call ``fn`` in a thread that has joined the namespace at ``path``."""

    def inner() -> T:
        enter(path)
        return fn()

    return _in_thread(inner)


def create(name: str, base: Path = NETNS_DIR) -> Path:
    """Create (or find) the pinned namespace ``base/name`` with loopback up; idempotent."""
    ensure_run_dir(base)
    path = base / name
    if is_pinned(path):
        return path
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0)
    os.close(fd)

    def make() -> None:
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        _mount(f"/proc/self/task/{threading.get_native_id()}/ns/net", str(path), MS_BIND)
        _set_lo_up()

    try:
        _in_thread(make)
    except BaseException:
        remove(name, base)
        raise
    return path


def remove(name: str, base: Path = NETNS_DIR) -> None:
    """Unpin and delete ``base/name``; a missing namespace is not an error."""
    path = base / name
    rc = _libc.umount2(str(path).encode(), MNT_DETACH)
    if rc != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.ENOENT):
        _check(rc, f"umount {path}")
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
