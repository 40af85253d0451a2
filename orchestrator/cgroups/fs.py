"""The only place that touches cgroup files, so tests can stand a faithful fake kernel in its place.

cgroupfs is not a normal filesystem: a write is a request the kernel may refuse (EINVAL, EBUSY,
EAGAIN), mkdir makes interface files appear, rmdir works on a directory full of files. Routing every
access through :class:`CgroupFS` keeps the drivers free of ``open()`` calls and lets the cgroup2
unit tests emulate those kernel reactions on a plain directory tree (no cgroup2 controllers exist on
the development host).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from orchestrator.errors import CgroupError


class CgroupFS(Protocol):
    def read(self, path: Path) -> str: ...
    def write(self, path: Path, value: str) -> None: ...
    def exists(self, path: Path) -> bool: ...
    def mkdir(self, path: Path) -> bool: ...
    def rmdir(self, path: Path) -> bool: ...
    def listdir(self, path: Path) -> list[str]: ...
    def attach_device_filter(self, path: Path, program: bytes) -> None: ...


class HostFS:
    """cgroupfs through plain syscalls; errors become one-line :class:`CgroupError` messages."""

    def read(self, path: Path) -> str:
        try:
            with open(path) as f:
                return f.read()
        except OSError as e:
            raise CgroupError(f"cannot read {path}: {e.strerror}") from e

    def write(self, path: Path, value: str) -> None:
        # One write() per value: the kernel parses each write as a whole request.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as e:
            raise CgroupError(f"cannot open {path} for writing: {e.strerror}") from e
        try:
            os.write(fd, value.encode())
        except OSError as e:
            raise CgroupError(f"cannot write {value!r} to {path}: {e.strerror}") from e
        finally:
            os.close(fd)

    def exists(self, path: Path) -> bool:
        return os.path.exists(path)

    def mkdir(self, path: Path) -> bool:
        """Create one level; False when it was already there (create is idempotent)."""
        try:
            os.mkdir(path, 0o755)
            return True
        except FileExistsError:
            return False
        except OSError as e:
            raise CgroupError(f"cannot create cgroup {path}: {e.strerror}") from e

    def rmdir(self, path: Path) -> bool:
        """Remove one cgroup; False when it is gone already or still busy (children, tasks)."""
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return False
        except OSError as e:
            if e.errno in (errno.EBUSY, errno.ENOTEMPTY):
                return False
            raise CgroupError(f"cannot remove cgroup {path}: {e.strerror}") from e

    def listdir(self, path: Path) -> list[str]:
        try:
            return os.listdir(path)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise CgroupError(f"cannot list {path}: {e.strerror}") from e

    def attach_device_filter(self, path: Path, program: bytes) -> None:
        """cgroup2's device rules are an eBPF program on the directory (see ``device_filter``)."""
        from orchestrator.cgroups.device_filter import attach

        attach(path, program)


HOST_FS = HostFS()


def read_int(fs: CgroupFS, path: Path, default: int = 0) -> int:
    """An integer file, or ``default`` when the kernel does not offer it."""
    if not fs.exists(path):
        return default
    text = fs.read(path).strip()
    if text in ("", "max"):
        return default
    try:
        return int(text.split()[0])
    except ValueError as e:
        raise CgroupError(f"unexpected content in {path}: {text[:60]!r}") from e


def read_keyed(fs: CgroupFS, path: Path) -> dict[str, int]:
    """A flat-keyed file (``key value`` per line: memory.events, cpu.stat, memory.oom_control)."""
    out: dict[str, int] = {}
    if not fs.exists(path):
        return out
    for line in fs.read(path).splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def parse_pids(text: str) -> list[int]:
    return [int(x) for x in text.split() if x.strip().isdigit()]


def wait_for(
    check: Callable[[], bool], *, timeout: float, what: str, retry: Callable[[], None] | None = None
) -> None:
    """Poll a kernel state change (freezing, emptying) with a short, growing interval.

    ``retry`` is called every ~100 ms while waiting: a v1 freeze can stall on a task in an
    uninterruptible sleep, and writing FROZEN again is how runc gets it moving.
    """
    deadline = time.monotonic() + timeout
    delay = 0.0005
    next_retry = time.monotonic() + 0.1
    while not check():
        now = time.monotonic()
        if now >= deadline:
            raise CgroupError(f"timed out after {timeout:g}s waiting for {what}")
        if retry is not None and now >= next_retry:
            retry()
            next_retry = now + 0.1
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def split_path(path: str) -> tuple[str, ...]:
    """OCI ``cgroupsPath`` ("pystack/x" or "/pystack/x") → its components, refusing escapes."""
    if not isinstance(path, str):
        raise CgroupError(f"cgroup path must be a string, got {path!r}")
    parts = tuple(p for p in path.strip().split("/") if p)
    if not parts:
        raise CgroupError("cgroup path is empty: refusing to manage a hierarchy's root cgroup")
    for p in parts:
        if p in (".", "..") or "\0" in p or ":" in p:
            raise CgroupError(f"cgroup path {path!r}: component {p!r} is not allowed")
    return parts


def warn(fmt: str, *args: object) -> None:
    """Log a limit the host cannot enforce; logging is imported only then (it costs ~5 ms at start)."""
    import logging

    logging.getLogger("orchestrator.cgroups").warning(fmt, *args)
