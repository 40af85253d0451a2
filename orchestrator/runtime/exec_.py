"""``exec``: a new process inside a running container, with all its namespaces, cgroup, caps and user.

The caller forks a joiner; once the caller has put it into the container's cgroup, the joiner
turns non-dumpable (so nothing in the container can open its /proc/<pid>/exe: CVE-2019-5736),
setns()s into every namespace of PID 1 (mount last), and forks the real process inside the PID
namespace. That one blocks imports, closes every fd the engine had, drops to the process's
identity and capabilities, and execs. Errors before execve come back on a close-on-exec pipe.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import socket
import sys
import termios
from collections.abc import Mapping
from typing import IO, Any

from orchestrator.errors import RuntimeFailure
from orchestrator.runtime import init as cinit
from orchestrator.runtime import kernel as k
from orchestrator.runtime import procsetup, spec, terminal

_NS = (("ipc", k.CLONE_NEWIPC), ("uts", k.CLONE_NEWUTS), ("net", k.CLONE_NEWNET), ("pid", k.CLONE_NEWPID),
       ("cgroup", k.CLONE_NEWCGROUP), ("time", k.CLONE_NEWTIME), ("mnt", k.CLONE_NEWNS))


def _fileno(x: IO[Any] | int | None) -> int | None:
    if x is None:
        return None
    return x if isinstance(x, int) else x.fileno()


def full_process(cfg: Mapping[str, Any], process: Mapping[str, Any]) -> dict[str, Any]:
    """The exec'd process: what the caller gave, the container's process for what it left out."""
    base = dict(cfg.get("process") or {})
    out = {k2: base[k2] for k2 in ("capabilities", "noNewPrivileges", "user", "cwd", "env", "rlimits",
                                  "oomScoreAdj") if k2 in base}
    out.update(process)
    out.setdefault("cwd", "/")
    out.setdefault("user", {"uid": 0, "gid": 0})
    out["terminal"] = bool(process.get("terminal"))
    return out


def run_exec(
    rt: Any,
    data: Mapping[str, Any],
    process: Mapping[str, Any],
    *,
    tty: bool,
    detach: bool,
    stdin: IO[Any] | int | None,
    stdout: IO[Any] | int | None,
    stderr: IO[Any] | int | None,
) -> int:
    from pathlib import Path

    cfg = spec.load_config(Path(data["bundle"]))
    proc = full_process(cfg, process)
    if not proc.get("args"):
        raise RuntimeFailure("exec: no command given")
    seccomp = (cfg.get("linux") or {}).get("seccomp")
    bpf = None
    if seccomp:
        from orchestrator.runtime import seccomp as sc

        bpf = sc.compile_cached(seccomp, rt.paths.run / "seccomp")
    pid = int(data["pid"])
    own = {n: os.readlink(f"/proc/self/ns/{n}") for n, _ in _NS if os.path.exists(f"/proc/self/ns/{n}")}
    ns_fds: list[tuple[int, int]] = []
    try:
        for name, flag in _NS:
            path = f"/proc/{pid}/ns/{name}"
            try:
                if os.readlink(path) == own.get(name):
                    continue
                ns_fds.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), flag))
            except FileNotFoundError:
                continue
        return _spawn(rt, data, proc, ns_fds, bpf, tty, detach, stdin, stdout, stderr)
    finally:
        for fd, _ in ns_fds:
            os.close(fd)


def _spawn(rt: Any, data: Mapping[str, Any], proc: dict[str, Any], ns_fds: list[tuple[int, int]],
           bpf: bytes | None, tty: bool, detach: bool, stdin: IO[Any] | int | None,
           stdout: IO[Any] | int | None, stderr: IO[Any] | int | None) -> int:
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    master: int | None = None
    # With a terminal, the joiner opens the pty inside the container (its /dev/ptmx, so the
    # process sees a /dev/pts/N that exists there) and hands the master back over this socket.
    pty_here, pty_there = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM) if tty else (None, None)
    stdio = [_fileno(stdin), _fileno(stdout), _fileno(stderr)]
    for s in (sys.stdout, sys.stderr):
        s.flush()
    # Frozen across the fork: a collection in the joiner never frees what the caller made. The
    # caller's other threads may hold locks (SQLite's, inside a statement it frees) at the fork,
    # which the joiner would then wait for forever. Unfrozen in the caller right after.
    gc.freeze()
    try:
        joiner = os.fork()
    except BaseException:
        gc.unfreeze()
        raise
    if joiner != 0:
        gc.unfreeze()
    if joiner == 0:
        try:
            os.close(go_w)
            os.close(err_r)
            if pty_here is not None:
                pty_here.close()
            _joiner(proc, ns_fds, bpf, stdio, go_r, err_w, detach, pty_there)
        finally:
            os._exit(127)
    os.close(go_r)
    os.close(err_w)
    if pty_there is not None:
        pty_there.close()
    try:
        if data.get("cgroups_path"):
            rt._cgroup(data).add_process(joiner)
    except Exception as exc:
        os.kill(joiner, 9)
        os.waitpid(joiner, 0)
        os.close(go_w)
        os.close(err_r)
        raise RuntimeFailure(f"exec: cannot join the container's cgroup: {exc}") from None
    os.write(go_w, b"G")
    os.close(go_w)
    if pty_here is not None:
        with pty_here:
            try:
                _, fds, _, _ = socket.recv_fds(pty_here, 16, 1)
            except OSError:
                fds = []
            master = fds[0] if fds else None
            # The size is set before the process starts (the joiner waits for this byte), so
            # its first ``stty size`` already sees the caller's terminal, not 0x0.
            if master is not None and os.isatty(0):
                terminal.copy_winsize(0, master)
            with contextlib.suppress(OSError):
                pty_here.send(b"k")
    msg = b""
    while True:
        chunk = os.read(err_r, 65536)
        if not chunk:
            break
        msg += chunk
    os.close(err_r)
    if b"E" in msg:
        os.waitpid(joiner, 0)
        if master is not None:
            os.close(master)
        raise RuntimeFailure(f"exec: {msg[msg.index(b'E') + 1:].decode('utf-8', 'replace')}")
    if detach:
        os.waitpid(joiner, 0)
        return int(msg[1:].strip() or b"0")
    if master is not None:
        terminal.relay(master, joiner)
    _, status = os.waitpid(joiner, 0)
    return os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 128 + os.WTERMSIG(status)


def _joiner(proc: dict[str, Any], ns_fds: list[tuple[int, int]], bpf: bytes | None, stdio: list[int | None],
            go_r: int, err_w: int, detach: bool, pty_sock: socket.socket | None) -> None:
    try:
        k.prctl(k.PR_SET_DUMPABLE, 0)
        if os.read(go_r, 1) != b"G":
            os._exit(1)
        os.close(go_r)
        for i, fd in enumerate(stdio):
            if fd is not None and fd != i:
                os.dup2(fd, i)
        # The joiner lives as long as the process it waits for; any of the caller's fds it kept
        # would stay open that long: a lock the caller holds (the stack's) would outlive the caller.
        keep = {err_w, *(fd for fd, _ in ns_fds)}
        if pty_sock is not None:
            keep.add(pty_sock.fileno())
        cinit.close_fds_except(keep)
        for fd, flag in ns_fds:
            k.setns(fd, flag)
            os.close(fd)
        tty = pty_sock is not None
        if pty_sock is not None:  # in the container's mount namespace now: its /dev/ptmx
            master, slave = os.openpty()
            socket.send_fds(pty_sock, [b"pty"], [master])
            pty_sock.recv(1)  # the caller has sized the terminal
            pty_sock.close()
            os.close(master)
            for i in (0, 1, 2):
                os.dup2(slave, i)
            os.close(slave)
        try:
            child = os.fork()
        except OSError as exc:
            if exc.errno == 12:  # ENOMEM from fork: the PID namespace's init is gone
                raise OSError(3, "the container is not running") from None
            raise
        if child == 0:
            _inside(proc, bpf, err_w, tty)
        if detach:
            os.write(err_w, b"P%d\n" % child)
            os._exit(0)
        os.close(err_w)
        _, status = os.waitpid(child, 0)
        os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
    except BaseException as exc:
        os.write(err_w, b"E" + str(exc).encode())
        os._exit(127)


def _inside(proc: dict[str, Any], bpf: bytes | None, err_w: int, tty: bool) -> None:
    try:
        cinit.block_imports()
        if tty:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        cinit.close_fds_except({err_w})
        procsetup.apply_rlimits(proc.get("rlimits") or [])
        procsetup.set_oom_score_adj(proc.get("oomScoreAdj"))
        nnp = bool(proc.get("noNewPrivileges"))
        if bpf is not None and not nnp:
            procsetup.load_seccomp(bpf)
        procsetup.apply_identity_and_caps(proc)
        procsetup.chdir_inside(proc.get("cwd") or "/")
        path = procsetup.lookup(proc)
        procsetup.reset_signals()
        procsetup.finalize_and_exec(proc, bpf if nnp else None, None, path)
    except BaseException as exc:
        msg = str(exc) if isinstance(exc, (procsetup.SetupError, OSError)) else f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(OSError):
            os.write(err_w, b"E" + msg.encode("utf-8", "replace"))
    os._exit(127)

