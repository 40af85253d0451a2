"""The container's first process, from fork to execve of the user's program.

Forked by the monitor, already inside the container's PID (and time) namespace. Every module it
needs is imported before it starts; once the root is pivoted, imports are blocked outright, so
the engine can never load code from the container's filesystem (CVE-2019-14271 class).
"""

from __future__ import annotations

import fcntl
import os
import sys
import termios
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.cgroups.types import SelfJoin
from orchestrator.runtime import hooks, inroot, procsetup, rootfs
from orchestrator.runtime import kernel as k
from orchestrator.runtime.procsetup import SetupError
from orchestrator.runtime.rootfs import MountError


class _NoImports:
    """A meta-path finder that refuses every import: the engine is inside the container now."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        raise ImportError(f"pystack engine refuses to import {name!r} inside a container")


def block_imports() -> None:
    sys.meta_path.insert(0, _NoImports)
    sys.path_importer_cache.clear()
    sys.path[:] = []


@dataclass
class InitPlan:
    """What the container's init does between clone and exec, decided before the clone so the child only acts."""
    cfg: dict[str, Any]
    bundle: Path
    ns_new: int  # CLONE_* flags to unshare (pid/time are done by the monitor)
    ns_join: list[tuple[int, int]]  # (fd, CLONE_*) to setns, mount last
    go_fd: int
    ready_fd: int
    fifo_fd: int
    seccomp_bpf: bytes | None
    console: str | None = None
    # The slave of the monitor's own pty (a logged terminal without a console socket), inherited:
    # taken as is, since the monitor lets its copy go once the init is forked. -1: open ``console``.
    console_fd: int = -1
    userns: bool = False  # the init is in a new user namespace: no parent-death signal, root by fd
    start_result: str = ""  # FIFO that reports a startContainer hook's failure to ``start``
    cgroup_join: SelfJoin | None = None  # joins its cgroup itself, first thing (None: the caller does)


def close_fds_except(keep: set[int]) -> None:
    """Close every fd above 2 not in ``keep`` (CVE-2024-21626: nothing of the engine's survives)."""
    lo = 3
    for fd in sorted(f for f in keep if f >= 3):
        if fd > lo:
            k.close_range(lo, fd - 1)
        lo = fd + 1
    k.close_range(lo)


_step = ["start"]


def run(plan: InitPlan) -> None:
    """Never returns: execs the user's program, or reports an error and exits."""
    try:
        _setup_and_exec(plan)
    except (SetupError, MountError, hooks.HookFailed) as exc:
        _report(plan.ready_fd, str(exc))
    except OSError as exc:
        _report(plan.ready_fd, f"container init: {_step[0]}: {exc.strerror or exc}")
    except BaseException as exc:  # our own bug: still one line, never a hang
        _report(plan.ready_fd, f"container init: internal error: {type(exc).__name__}: {exc}")
    os._exit(127)


def _report(fd: int, msg: str) -> None:
    try:
        os.write(fd, b"E" + msg.encode("utf-8", "replace"))
    except OSError:
        os.write(2, f"pystack: {msg}\n".encode())


def _setup_and_exec(plan: InitPlan) -> None:
    cfg = plan.cfg
    proc = cfg["process"]
    linux = cfg.get("linux") or {}
    k.prctl(k.PR_SET_DUMPABLE, 0)  # nobody in the container may open /proc/<this>/exe or mem
    if not plan.userns:  # in a user namespace our parent is a short-lived stage
        k.prctl(k.PR_SET_PDEATHSIG, 9)
    # With OCI hooks the caller runs createRuntime between our namespaces and our mounts, and
    # sends the state JSON the in-container phases get on stdin: one more round trip, only then.
    hooked = hooks.needs_init_handshake(cfg)
    if plan.cgroup_join is not None:
        # Before any namespace: the paths are the host's. In its cgroups from here on, the init
        # may build its root before "go" and create its cgroup namespace with the others.
        _join_cgroup(plan.cgroup_join)
        late, cgroupns_late = not hooked, False
    else:
        late = joins_cgroup_late(cfg, plan.ns_new, plan.userns, hooked)
        cgroupns_late = late
    if not late:
        _wait_go(plan.go_fd, keep_open=hooked)
    result_fd = -1
    if hooks.of(cfg, "startContainer"):
        # ``start`` reads this FIFO: EOF when our execve closes it, a message if a hook failed.
        # Opened while still the host's root: the state directory is closed to a user namespace.
        result_fd = os.open(plan.start_result, os.O_RDWR | os.O_CLOEXEC)
    _step[0] = "joining namespaces"
    for fd, flag in plan.ns_join:
        k.setns(fd, flag)
        os.close(fd)
    _step[0] = "creating namespaces"
    early = plan.ns_new & ~k.CLONE_NEWCGROUP if cgroupns_late else plan.ns_new
    if early:
        k.unshare(early)
    rootfs_fd = None
    if plan.userns:
        # Still the host's uid 0 here, so the bundle's parents are traversable: keep the root as an
        # fd, then become the namespace's root so new mounts and files have mapped owners.
        _step[0] = "entering the user namespace"
        root_path = str(rootfs.rootfs_path(cfg, plan.bundle))
        rootfs_fd = os.open(root_path, inroot.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        os.setgroups([])
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    _step[0] = "setting the hostname"
    if cfg.get("hostname") and plan.ns_new & k.CLONE_NEWUTS:
        k.sethostname(cfg["hostname"])
    if cfg.get("domainname") and plan.ns_new & k.CLONE_NEWUTS:
        k.setdomainname(cfg["domainname"])
    _step[0] = "rlimits"
    procsetup.apply_rlimits(proc.get("rlimits") or [])
    _step[0] = "oom_score_adj"
    procsetup.set_oom_score_adj(proc.get("oomScoreAdj"))
    if proc.get("terminal") and plan.console:
        _attach_console(plan.console, plan.console_fd)
    state = b""
    before_pivot = None
    if hooked:
        _step[0] = "waiting for the createRuntime hooks"
        os.write(plan.ready_fd, b"H")
        state = _read_state(plan.go_fd)
        if hooks.of(cfg, "createContainer"):
            def before_pivot() -> None:
                hooks.run_all(hooks.of(cfg, "createContainer"), state, "createContainer")
    _step[0] = "preparing the root filesystem"
    rootfs.prepare(cfg, plan.bundle, plan.console if proc.get("terminal") else None, rootfs_fd,
                   before_pivot=before_pivot)
    block_imports()
    _step[0] = "creating the working directory"
    procsetup.make_cwd(proc.get("cwd") or "/")  # before a read-only root is made so
    _step[0] = "masked and read-only paths"
    rootfs.finish(cfg)
    if late:
        _wait_go(plan.go_fd)
        if cgroupns_late and plan.ns_new & k.CLONE_NEWCGROUP:
            _step[0] = "creating the cgroup namespace"
            k.unshare(k.CLONE_NEWCGROUP)
    close_fds_except({plan.ready_fd, plan.fifo_fd, result_fd})
    nnp = bool(proc.get("noNewPrivileges"))
    _step[0] = "seccomp"
    if plan.seccomp_bpf is not None and not nnp:
        procsetup.load_seccomp(plan.seccomp_bpf)
    _step[0] = "personality"
    procsetup.set_personality(linux.get("personality"))
    procsetup.set_exec_labels(proc)
    _step[0] = "user and capabilities"
    procsetup.apply_identity_and_caps(proc)
    if "umask" in (proc.get("user") or {}):
        os.umask(int(proc["user"]["umask"]))
    _step[0] = "cwd"
    procsetup.chdir_inside(proc.get("cwd") or "/")
    path = procsetup.lookup(proc)
    procsetup.reset_signals()
    os.write(plan.ready_fd, b"R")
    os.close(plan.ready_fd)
    procsetup.finalize_and_exec(proc, plan.seccomp_bpf if nnp else None,
                                _gate(plan.fifo_fd, hooks.of(cfg, "startContainer"), state, result_fd), path)


def joins_cgroup_late(cfg: dict[str, Any], ns_new: int, userns: bool, hooked: bool) -> bool:
    """Whether the init builds the root before the caller has put it into its cgroup.

    Only for an init the caller moves (in a user namespace); one that joins by itself (SelfJoin)
    is in its cgroups before anything else, so it always builds first.

    Joining (the caller's write to cgroup.procs) waits for an RCU grace period on v1 hosts, so the
    root is built meanwhile and "go" awaited just before the identity change, with the cgroup
    namespace (whose root is the cgroup the init is in) created after it. A cgroup filesystem
    mounted into the root changes that only when what it shows depends on the join: the root of a
    new cgroup namespace, or, in a user namespace (where v1 hierarchies cannot be mounted), the
    container's own cgroup directories bound in their place. Without either, it shows the host's
    hierarchies whatever the init's cgroup, as runc's default bundle asks.
    """
    if hooked:
        return False
    if not any(m.get("type") == "cgroup" for m in cfg.get("mounts") or []):
        return True
    return not (ns_new & k.CLONE_NEWCGROUP) and not userns


def _join_cgroup(join: SelfJoin) -> None:
    """Enter the container's cgroups without the threadgroup lock a caller's write takes (SelfJoin):
    the init is single-threaded, so ``0`` in a v1 ``tasks`` file moves all of it. Only when it
    could not be born in its cgroup2 cgroup does it write there, which does take the lock."""
    _step[0] = "joining the container's cgroup"
    files = ([join.v2_dir + "/cgroup.procs"] if join.v2_dir else []) + list(join.v1_tasks)
    for path in files:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        except OSError as exc:
            raise SetupError(f"cannot join cgroup {os.path.dirname(path)}: {exc.strerror}") from None


def _wait_go(go_fd: int, keep_open: bool = False) -> None:
    """Block until the caller has put us into the container's cgroup; EOF means it gave up or died."""
    if os.read(go_fd, 1) != b"G":
        os._exit(1)
    if not keep_open:
        os.close(go_fd)


def _read_state(go_fd: int) -> bytes:
    """The caller's answer after the createRuntime hooks: ``G`` and the state JSON, one line."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = os.read(go_fd, 65536)
        if not chunk:
            os._exit(1)  # the caller gave up (a createRuntime hook failed) or died
        buf += chunk
    os.close(go_fd)
    if not buf.startswith(b"G"):
        os._exit(1)
    return buf[1:-1]


def _gate(fifo_fd: int, start_hooks: list[dict[str, Any]] | None = None, state: bytes = b"",
          result_fd: int = -1) -> Callable[[], None]:
    def wait_for_start() -> None:
        if os.read(fifo_fd, 1) != b"S":
            os._exit(1)
        os.close(fifo_fd)
        if start_hooks:
            try:
                hooks.run_all(start_hooks, hooks.with_status(state, "created"), "startContainer")
            except hooks.HookFailed as exc:
                os.write(result_fd, b"E" + str(exc).encode("utf-8", "replace"))
                os._exit(127)

    return wait_for_start


def _attach_console(pty_slave: str, fd: int = -1) -> None:
    os.setsid()
    if fd < 0:
        fd = os.open(pty_slave, os.O_RDWR | os.O_CLOEXEC)
    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
    for i in (0, 1, 2):
        os.dup2(fd, i)
    os.close(fd)
