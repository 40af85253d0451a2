"""Building the container's mount namespace: the root, the config's mounts in order, /dev, pivot_root.

Runs in the container's init process after it unshared its mount namespace. Order (as runc and
crun): propagation of / made private, the root bind-mounted on itself, every ``mounts`` entry in
order with its target resolved inside the root, device nodes in /dev, pivot_root; then, inside
the new root, sysctls, read-only and masked paths, and a read-only root last.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.runtime import kernel as k
from orchestrator.runtime import mountopts
from orchestrator.runtime.inroot import O_PATH, ensure_in_root, fd_path, open_in_root

DEFAULT_DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0))
DEV_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
             ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore"))
_PROPAGATION = {"private": k.MS_PRIVATE, "rprivate": k.MS_PRIVATE | k.MS_REC, "slave": k.MS_SLAVE,
                "rslave": k.MS_SLAVE | k.MS_REC, "shared": k.MS_SHARED, "rshared": k.MS_SHARED | k.MS_REC,
                "unbindable": k.MS_UNBINDABLE, "runbindable": k.MS_UNBINDABLE | k.MS_REC}


class MountError(Exception):
    """A mount entry failed; the message names the entry."""


def rootfs_path(cfg: dict[str, Any], bundle: Path) -> Path:
    p = Path(cfg["root"]["path"])
    return p if p.is_absolute() else bundle / p


def prepare(cfg: dict[str, Any], bundle: Path, console: str | None, rootfs_fd: int | None = None,
            before_pivot: Callable[[], None] | None = None) -> None:
    """Everything before pivot_root. ``console`` is a host pty path to bind at /dev/console.

    ``before_pivot`` runs once every mount is in place (the createContainer hooks).
    """
    linux = cfg.get("linux") or {}
    prop = _PROPAGATION.get(linux.get("rootfsPropagation") or "rprivate", k.MS_PRIVATE | k.MS_REC)
    k.mount(None, "/", None, k.MS_REC | k.MS_PRIVATE)
    root = str(rootfs_path(cfg, bundle))
    if rootfs_fd is None:
        k.mount(root, root, None, k.MS_BIND | k.MS_REC)
        root_fd = os.open(root, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    else:
        # Opened before dropping to the user namespace's root, whose host uid may not traverse the
        # bundle's parents: clone the tree from the fd and attach it onto itself; the clone's fd is
        # the new mount's root.
        flags = k.OPEN_TREE_CLONE | k.AT_RECURSIVE | k.AT_EMPTY_PATH | os.O_CLOEXEC
        root_fd = k.open_tree(rootfs_fd, "", flags)
        k.move_mount(root_fd, "", rootfs_fd, "", k.MOVE_MOUNT_F_EMPTY_PATH | k.MOVE_MOUNT_T_EMPTY_PATH)
        os.close(rootfs_fd)
        root = fd_path(root_fd)
    cg_path = (linux.get("cgroupsPath") or "").strip("/") or None
    try:
        dev_is_tmpfs = False
        for m in cfg.get("mounts") or []:
            try:
                _mount_one(root_fd, m, bundle, cg_path)
            except OSError as exc:
                raise MountError(f"mount {m.get('destination')} ({m.get('type', 'bind')}): {exc.strerror}") from None
            if m["destination"].rstrip("/") == "/dev" and m.get("type") == "tmpfs":
                dev_is_tmpfs = True
        _devices(root_fd, linux.get("devices") or [], dev_is_tmpfs)
        if console:
            target = ensure_in_root(root_fd, "/dev/console", directory=False)
            try:
                k.mount(console, fd_path(target), None, k.MS_BIND)
            finally:
                os.close(target)
        if prop != (k.MS_PRIVATE | k.MS_REC):
            k.mount(None, fd_path(root_fd), None, prop)
        if before_pivot is not None:
            before_pivot()
        _pivot(root_fd)
    finally:
        os.close(root_fd)


def mount_entry(root_fd: int, m: dict[str, Any], bundle: Path) -> None:
    """One entry of the config's ``mounts`` under the root, as :func:`prepare` mounts it (``cp`` of a
    stopped container binds its volumes this way; see orchestrator.cli.stopped_mounts)."""
    try:
        _mount_one(root_fd, m, bundle, None)
    except OSError as exc:
        raise MountError(f"mount {m.get('destination')} ({m.get('type', 'bind')}): {exc.strerror}") from None


def _mount_one(root_fd: int, m: dict[str, Any], bundle: Path, cgroups_path: str | None) -> None:
    dest = m["destination"]
    mtype = m.get("type")
    opts = mountopts.parse(m.get("options"), mtype)
    if opts.bind:
        src = m.get("source") or ""
        src_path = src if src.startswith("/") else str(bundle / src)
        src_fd = os.open(src_path, O_PATH | os.O_CLOEXEC)
        try:
            is_dir = stat.S_ISDIR(os.fstat(src_fd).st_mode)
            dest_fd = ensure_in_root(root_fd, dest, directory=is_dir)
            try:
                k.mount(fd_path(src_fd), fd_path(dest_fd), None, k.MS_BIND | (k.MS_REC if opts.recursive else 0))
            finally:
                os.close(dest_fd)
        finally:
            os.close(src_fd)
        if opts.flags:
            _on_top(root_fd, dest, lambda p: k.mount(None, p, None, k.MS_BIND | k.MS_REMOUNT | opts.flags))
    else:
        fstype = mtype or "none"
        if fstype == "cgroup":
            _mount_cgroup(root_fd, dest, opts.flags, cgroups_path)
        else:
            dest_fd = ensure_in_root(root_fd, dest)
            try:
                k.mount(m.get("source") or fstype, fd_path(dest_fd), fstype, opts.flags, opts.data_str)
            finally:
                os.close(dest_fd)
    for p in opts.propagation:
        _on_top(root_fd, dest, lambda path, p=p: k.mount(None, path, None, p))


def _on_top(root_fd: int, dest: str, action: Any) -> None:
    """Re-resolve ``dest`` (now the root of the new mount) and act on it."""
    fd = open_in_root(root_fd, dest)
    try:
        action(fd_path(fd))
    finally:
        os.close(fd)


def _host_v1_hierarchies() -> list[tuple[str, str]]:
    """(directory name, mount data) of each cgroup v1 hierarchy under /sys/fs/cgroup, from mountinfo."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields, sup = pre.split(), post.split()
            if len(sup) < 3 or sup[0] != "cgroup" or not fields[4].startswith("/sys/fs/cgroup/"):
                continue
            name = fields[4][len("/sys/fs/cgroup/"):]
            opts = [o for o in sup[2].split(",") if o not in ("rw", "ro")]
            if "/" not in name:
                out.append((name, ",".join(opts)))
    return out


def _mount_cgroup(root_fd: int, dest: str, flags: int, cgroups_path: str | None) -> None:
    """cgroup2 when the host is unified; on v1/hybrid a tmpfs with one hierarchy per v1 controller.

    In the container's cgroup namespace each hierarchy shows the container's own cgroup as its root.
    """
    from orchestrator import cgroups

    base = k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC
    if cgroups.detect_mode() == "unified":
        fd = ensure_in_root(root_fd, dest)
        try:
            k.mount("cgroup2", fd_path(fd), "cgroup2", flags | base)
        finally:
            os.close(fd)
        return
    fd = ensure_in_root(root_fd, dest)
    try:
        k.mount("tmpfs", fd_path(fd), "tmpfs", base, "mode=755")
    finally:
        os.close(fd)
    for name, data in _host_v1_hierarchies():
        sub = ensure_in_root(root_fd, f"{dest}/{name}")
        try:
            try:
                k.mount("cgroup", fd_path(sub), "cgroup", flags | base, data)
            except PermissionError:
                # v1 hierarchies cannot be mounted from a user namespace: bind our own cgroup instead
                own = f"/sys/fs/cgroup/{name}/{cgroups_path}" if cgroups_path else ""
                if own and os.path.isdir(own):
                    k.mount(own, fd_path(sub), None, k.MS_BIND | k.MS_REC)
        finally:
            os.close(sub)
    if flags & k.MS_RDONLY:
        _on_top(root_fd, dest, lambda p: k.mount(None, p, None, k.MS_REMOUNT | k.MS_RDONLY | base, "mode=755"))


def _devices(root_fd: int, extra: list[dict[str, Any]], defaults: bool) -> None:
    old = os.umask(0)
    try:
        if defaults:
            dev = open_in_root(root_fd, "/dev", os.O_RDONLY | os.O_DIRECTORY)
            try:
                for name, major, minor in DEFAULT_DEVICES:
                    _mknod(dev, name, stat.S_IFCHR | 0o666, major, minor, 0, 0)
                for name, target in DEV_LINKS:
                    with contextlib.suppress(FileExistsError):
                        os.symlink(target, name, dir_fd=dev)
            finally:
                os.close(dev)
        for d in extra:
            path = d["path"]
            parent_path, _, name = path.rpartition("/")
            parent = ensure_in_root(root_fd, parent_path or "/")
            os.close(parent)
            parent = open_in_root(root_fd, parent_path or "/", os.O_RDONLY | os.O_DIRECTORY)
            try:
                kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[d["type"]]
                mode = kind | (d.get("fileMode", 0o666) & 0o7777)
                _mknod(parent, name, mode, d.get("major", 0), d.get("minor", 0), d.get("uid", 0), d.get("gid", 0),
                       path)
            finally:
                os.close(parent)
    finally:
        os.umask(old)


def _mknod(dirfd: int, name: str, mode: int, major: int, minor: int, uid: int, gid: int,
           host_path: str | None = None) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dirfd)
    try:
        os.mknod(name, mode, os.makedev(major, minor), dir_fd=dirfd)
    except PermissionError:
        # In a user namespace mknod is refused: bind the host's node instead (as runc and crun do).
        host = host_path or next((f"/dev/{n}" for n, ma, mi in DEFAULT_DEVICES if (ma, mi) == (major, minor)), None)
        if host is None or not os.path.exists(host):
            raise
        os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW, 0o666, dir_fd=dirfd))
        target = os.open(name, O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW, dir_fd=dirfd)
        try:
            k.mount(host, fd_path(target), None, k.MS_BIND)
        finally:
            os.close(target)
        return
    os.chown(name, uid, gid, dir_fd=dirfd, follow_symlinks=False)


def _pivot(root_fd: int) -> None:
    old_root = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fchdir(root_fd)
        k.pivot_root(".", ".")
        os.fchdir(old_root)
        # The old root is stacked on top of the new one: detach it without propagating to the host.
        k.mount(None, ".", None, k.MS_SLAVE | k.MS_REC)
        k.umount2(".", k.MNT_DETACH)
    finally:
        os.close(old_root)
    os.chdir("/")


def finish(cfg: dict[str, Any]) -> None:
    """Inside the new root: sysctls, read-only and masked paths, then a read-only root."""
    linux = cfg.get("linux") or {}
    for key, value in (linux.get("sysctl") or {}).items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(value)
        except OSError as exc:
            raise MountError(f"sysctl {key}={value}: {exc.strerror}") from None
    for p in linux.get("readonlyPaths") or []:
        try:
            k.mount(p, p, None, k.MS_BIND | k.MS_REC)
            k.mount(None, p, None, k.MS_BIND | k.MS_REMOUNT | k.MS_RDONLY | k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise MountError(f"read-only path {p}: {exc.strerror}") from None
    for p in linux.get("maskedPaths") or []:
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                k.mount("tmpfs", p, "tmpfs", k.MS_RDONLY, "size=0")
            else:
                k.mount("/dev/null", p, None, k.MS_BIND)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise MountError(f"masked path {p}: {exc.strerror}") from None
    if cfg["root"].get("readonly"):
        flags = k.MS_BIND | k.MS_REMOUNT | k.MS_RDONLY
        st = os.statvfs("/")
        for bit, flag in ((os.ST_NOSUID, k.MS_NOSUID), (os.ST_NODEV, k.MS_NODEV), (os.ST_NOEXEC, k.MS_NOEXEC)):
            if st.f_flag & bit:
                flags |= flag
        k.mount(None, "/", None, flags)
