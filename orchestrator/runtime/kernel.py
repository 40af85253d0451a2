"""Thin ctypes bindings for the Linux calls the runtime needs and Python's os module lacks.

Loaded once, before any process enters a container, so that nothing is looked up or loaded
from a container's filesystem afterwards. Every wrapper raises ``OSError`` with errno set.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import struct
import sys

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

# x86_64 syscall numbers (the only architecture this engine targets).
SYS_PIVOT_ROOT = 155
SYS_CAPSET = 126
SYS_SECCOMP = 317
SYS_OPENAT2 = 437
SYS_CLOSE_RANGE = 436
SYS_PIDFD_GETFD = 438
SYS_MOUNT_SETATTR = 442
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_CLONE3 = 435
OPEN_TREE_CLONE = 1
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOVE_MOUNT_T_EMPTY_PATH = 0x40

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080
CLONE_INTO_CGROUP = 0x200000000

NS_FLAGS = {
    "pid": CLONE_NEWPID,
    "network": CLONE_NEWNET,
    "mount": CLONE_NEWNS,
    "ipc": CLONE_NEWIPC,
    "uts": CLONE_NEWUTS,
    "user": CLONE_NEWUSER,
    "cgroup": CLONE_NEWCGROUP,
    "time": CLONE_NEWTIME,
}
# name used under /proc/<pid>/ns/
NS_PROC_NAME = {
    "pid": "pid",
    "network": "net",
    "mount": "mnt",
    "ipc": "ipc",
    "uts": "uts",
    "user": "user",
    "cgroup": "cgroup",
    "time": "time",
}

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25

MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_KEEPCAPS = 8

RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

CLOSE_RANGE_CLOEXEC = 1 << 2

SECCOMP_SET_MODE_FILTER = 1


def _check(res: int) -> int:
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return res


def _b(s: str | bytes | None) -> bytes | None:
    if s is None:
        return None
    return s.encode() if isinstance(s, str) else s


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)))


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)))


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)))


def umount2(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), ctypes.c_int(flags)))


def detach_all(target: str) -> None:
    """Lazily unmount every mount stacked at ``target``, the top one first, until what lies under
    them shows (EINVAL); silent when nothing is mounted there. For the binds pystack keeps in a
    container's directory (namespace pins, a shared /dev/shm), which a restart replaces."""
    for _ in range(64):  # a bound on what no caller stacks: never a loop without end
        try:
            umount2(target, MNT_DETACH)
        except OSError:
            return


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_syscall(ctypes.c_long(SYS_PIVOT_ROOT), _b(new_root), _b(put_old)))


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))))


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_libc.setdomainname(raw, ctypes.c_size_t(len(raw))))


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(
        _libc.prctl(
            ctypes.c_int(option),
            ctypes.c_ulong(arg2),
            ctypes.c_ulong(arg3),
            ctypes.c_ulong(arg4),
            ctypes.c_ulong(arg5),
        )
    )


def personality(persona: int) -> None:
    _check(_libc.personality(ctypes.c_ulong(persona)))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set the three per-thread sets (64 bits each, version 3 ABI)."""
    hdr = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    for i in range(2):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_syscall(ctypes.c_long(SYS_CAPSET), ctypes.byref(hdr), ctypes.byref(data)))


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def openat2(dirfd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    how = _OpenHow(flags, mode, resolve)
    return _check(
        _syscall(
            ctypes.c_long(SYS_OPENAT2),
            ctypes.c_int(dirfd),
            _b(path),
            ctypes.byref(how),
            ctypes.c_size_t(ctypes.sizeof(how)),
        )
    )


def close_range(first: int, last: int = 0xFFFFFFFF, flags: int = 0) -> None:
    _check(_syscall(ctypes.c_long(SYS_CLOSE_RANGE), ctypes.c_uint(first), ctypes.c_uint(last), ctypes.c_uint(flags)))


def pidfd_getfd(pidfd: int, target_fd: int) -> int:
    """A copy (close-on-exec) of descriptor ``target_fd`` of the process behind ``pidfd``."""
    return _check(_syscall(ctypes.c_long(SYS_PIDFD_GETFD), ctypes.c_int(pidfd), ctypes.c_int(target_fd),
                           ctypes.c_uint(0)))


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp_load_bpf(program: bytes, flags: int = 0) -> None:
    """Install a compiled classic-BPF filter (8 bytes per instruction), as libseccomp would."""
    if len(program) % 8:
        raise ValueError("BPF program length is not a multiple of 8")
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    _check(
        _syscall(
            ctypes.c_long(SYS_SECCOMP),
            ctypes.c_uint(SECCOMP_SET_MODE_FILTER),
            ctypes.c_uint(flags),
            ctypes.byref(prog),
        )
    )


def open_tree(dirfd: int, path: str, flags: int) -> int:
    return _check(_syscall(ctypes.c_long(SYS_OPEN_TREE), ctypes.c_int(dirfd), _b(path), ctypes.c_uint(flags)))


def move_mount(from_fd: int, from_path: str, to_fd: int, to_path: str, flags: int) -> None:
    _check(_syscall(ctypes.c_long(SYS_MOVE_MOUNT), ctypes.c_int(from_fd), _b(from_path), ctypes.c_int(to_fd),
                    _b(to_path), ctypes.c_uint(flags)))


# clone3 runs with the GIL held, as os.fork does, through a PyDLL (which never releases it); the
# interpreter's own fork hooks are called around it. Looked up at import, in the zygote, so that
# every monitor shares these objects instead of building its own.
_clone3 = ctypes.PyDLL(None, use_errno=True).syscall
_clone3.restype = ctypes.c_long
_clone3.argtypes = (ctypes.c_long, ctypes.c_void_p, ctypes.c_size_t)
_before_fork = ctypes.pythonapi.PyOS_BeforeFork
_after_fork_child = ctypes.pythonapi.PyOS_AfterFork_Child
_after_fork_parent = ctypes.pythonapi.PyOS_AfterFork_Parent
_CLONE_ARGS = struct.Struct("=11Q")  # struct clone_args up to .cgroup (CLONE_ARGS_SIZE_VER2, 88 bytes)
_clone_args = ctypes.create_string_buffer(_CLONE_ARGS.size)


def prepare_fork_into_cgroup() -> None:
    """Run :func:`fork_into_cgroup`'s ctypes machinery once, in the zygote, without forking.

    Its first call builds ctypes' conversion state for these functions; built in each monitor, it
    cost ~0.14 MB of private memory per container (measured), built here it is shared by every
    monitor. It goes as a fork that fails does: clone3 with a size below the smallest struct the
    kernel knows fails with EINVAL before anything is created.
    """
    _before_fork()
    try:
        _clone3(SYS_CLONE3, ctypes.addressof(_clone_args), 0)
    finally:
        _after_fork_parent()


def prepare_monitor_calls() -> None:
    """Make, in the zygote, every ctypes call a monitor makes once, so that no monitor builds its own.

    A foreign function's first call looks it up in libc and builds its conversion state: for
    ``unshare`` that was ~0.16 MB of private memory in a forked child that does only that,
    measured (in a real monitor, much of it overlaps with what it dirties anyway). Each call here is
    one that changes nothing: clone3 as in :func:`prepare_fork_into_cgroup`, ``unshare(0)``,
    ``setns`` of no descriptor (EBADF), ``prctl(PR_GET_DUMPABLE)``.
    """
    prepare_fork_into_cgroup()
    unshare(0)
    with contextlib.suppress(OSError):
        setns(-1, 0)
    prctl(PR_GET_DUMPABLE)


def fork_into_cgroup(cgroup_fd: int) -> int:
    """``os.fork()``, but the child is born in the cgroup2 directory open at ``cgroup_fd``.

    Why: moving a process with a write to ``cgroup.procs`` takes the kernel's global threadgroup
    lock, whose first taker after an idle spell waits for an RCU grace period (~13 ms measured
    here); a process born in its cgroup (``CLONE_INTO_CGROUP``, Linux 5.7) never moves, so never
    waits. runc and crun start their inits this way on cgroup2.

    Only for a single-threaded caller whose child goes on to exec: glibc's own fork handlers do
    not run, so the child's thread descriptor keeps the parent's thread id (glibc's ``raise``
    asks the kernel instead, and nothing the init calls reads it). Raises ``OSError`` as
    ``os.fork`` does (ENOSYS or E2BIG on a kernel too old for it, EBUSY for a cgroup that has
    controllers enabled for children), so the caller can fall back to ``os.fork``.
    """
    if cgroup_fd < 0:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))
    sys.audit("os.fork")
    _CLONE_ARGS.pack_into(_clone_args, 0, CLONE_INTO_CGROUP, 0, 0, 0, signal.SIGCHLD, 0, 0, 0, 0, 0, cgroup_fd)
    _before_fork()
    pid = int(_clone3(SYS_CLONE3, ctypes.addressof(_clone_args), _CLONE_ARGS.size))
    if pid == 0:
        _after_fork_child()
        return 0
    err = ctypes.get_errno()
    _after_fork_parent()
    if pid < 0:
        raise OSError(err, os.strerror(err))
    return pid
