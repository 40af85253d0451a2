"""A small idle process that forks the monitors, so that their memory stays shared.

A monitor forked straight from the caller shares its pages copy-on-write only until the caller
writes them again, which a busy orchestrator soon does: each monitor then owns megabytes. The
zygote is forked once from the caller, sits idle in ``poll()`` and forks every monitor on request,
so the pages stay shared by all of them. It is not a daemon in the usual sense: started on demand
by ``create``, it exits by itself a moment after its last monitor. Requests are bytes plus the fds
(SCM_RIGHTS) over a 0600 SEQPACKET socket in the runtime state directory; the peer must be root.
"""

from __future__ import annotations

import _thread
import contextlib
import fcntl
import gc
import json
import marshal
import os
import select
import signal
import socket
import struct
from dataclasses import fields
from pathlib import Path
from typing import Any

from orchestrator import unix_socket
from orchestrator.runtime import monitor_plan
from orchestrator.runtime.store import ContainerDir

IDLE_EXIT = 1.0  # seconds without monitors before the zygote leaves
REHEARSALS = 10  # relay runs before serving alone: Python specializes a function after 8 calls
MAX_MSG = 1 << 20
_N_FIXED = 7  # report, go, ready, fifo, stdin, stdout, stderr


_WAKE_FDS: list[int] = []  # the zygote's self-pipe, closed in each monitor it forks


_HEAD = struct.Struct("=III")  # lengths of the fields (marshal), of the OCI config's JSON, of the seccomp program
_RAW = ("cfg", "cfg_json", "seccomp_bpf", "init_fds", "caller_fd")  # sent as raw bytes or as descriptors, or not at all


def _encode(plan: monitor_plan.MonitorPlan) -> bytes:
    """The small fields marshalled; the OCI config's JSON and the seccomp program as raw bytes after them,
    so that the zygote and its monitor never build the config's objects (see MonitorPlan.config)."""
    # Shallow: the OCI config is plain JSON data already, and a deep copy of it (asdict) was the
    # largest part of a create's time in the calling process.
    d = {f.name: getattr(plan, f.name) for f in fields(plan) if f.name not in _RAW}
    d["cdir"] = [str(plan.cdir.dir.parent), plan.cdir.id]
    d["ns_join_fds"] = [flag for _, flag in plan.ns_join_fds]
    head = marshal.dumps(d)
    cfg = json.dumps(plan.config()).encode()
    bpf = plan.seccomp_bpf or b""
    return _HEAD.pack(len(head), len(cfg), len(bpf)) + head + cfg + bpf


def _decode(raw: bytes, fds: list[int]) -> tuple[monitor_plan.MonitorPlan, int, list[int]]:
    if len(raw) < _HEAD.size:
        raise ValueError("a monitor request too short for its header")
    n_head, n_cfg, n_bpf = _HEAD.unpack_from(raw)
    at = _HEAD.size
    if at + n_head + n_cfg + n_bpf != len(raw):
        raise ValueError("a monitor request of the wrong length")
    # marshal rather than JSON: the zygote decodes each request between two forks, and every page
    # that writes is then a private copy in each monitor forked before it. json.loads dirtied
    # ~0.14 MB more of them per request than marshal.loads, measured. The peer is root (checked by
    # the caller of this function) and its plan is run as root anyway: marshal trusts no one more.
    d = marshal.loads(raw[at:at + n_head])
    if not isinstance(d, dict):
        raise ValueError("a monitor request whose fields are not a mapping")
    at += n_head
    cfg_json = raw[at:at + n_cfg]
    at += n_cfg
    report, go, ready, fifo, *rest = fds
    stdio, ns_fds = rest[:3], rest[3:]
    flags = d.pop("ns_join_fds")
    base, cid = d.pop("cdir")
    plan = monitor_plan.MonitorPlan(
        cdir=ContainerDir(base, cid), cfg={}, cfg_json=cfg_json, bundle=d.pop("bundle"),
        seccomp_bpf=raw[at:] if n_bpf else None,
        ns_join_fds=list(zip(ns_fds, flags, strict=True)), init_fds=(go, ready, fifo),
        pid_ns=tuple(d.pop("pid_ns")), **d,
    )
    return plan, report, stdio


_FINGERPRINT: list[str] = []


def socket_path(state_dir: Path) -> Path:
    """The zygote's socket for *this* code: a caller running other code (an upgrade, another
    interpreter) gets a zygote of its own, while the old one serves its monitors and leaves."""
    if not _FINGERPRINT:
        import sys

        from orchestrator import sha256

        h = sha256.new(sys.executable.encode())
        pkg = Path(__file__).resolve().parent.parent
        for folder in (pkg / "runtime", pkg / "cgroups"):
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.name.endswith((".py", ".json")):
                    st = entry.stat()
                    h.update(f"{entry.name}:{st.st_mtime_ns}:{st.st_size};".encode())
        _FINGERPRINT.append(h.hexdigest()[:12])
    return state_dir / f"zygote-{_FINGERPRINT[0]}.sock"


def fork_monitor(sock_path: Path, plan: monitor_plan.MonitorPlan) -> int:
    """Ask the zygote (started if needed) for a monitor; return the read end of its report pipe."""
    _await_prestart(sock_path)
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        payload = _encode(plan)
        fds = [w, *plan.init_fds, 0, 1, 2, *(f for f, _ in plan.ns_join_fds)]
        for attempt in range(3):
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC) as s:
                    unix_socket.connect(s, sock_path)
                    socket.send_fds(s, [payload], fds)
                    if s.recv(1) == b"K":
                        return r
            except (FileNotFoundError, ConnectionRefusedError, BrokenPipeError, ConnectionResetError):
                pass
            if attempt < 2:
                _await(*_spawn(sock_path))
        raise OSError("the monitor zygote did not answer")
    except BaseException:
        os.close(r)
        raise
    finally:
        os.close(w)


_PENDING: dict[str, tuple[Any, int]] = {}  # socket path → (the starting zygote, its ready pipe)
# A plain lock from _thread, not threading: once threading is imported, its at-fork hook runs in
# every process the zygote forks. Measured: a forked child that only sleeps owned 880 KiB with it
# and 525 KiB without, a real monitor ~210 KiB more.
_PENDING_LOCK = _thread.allocate_lock()


def prestart(sock_path: Path) -> None:
    """Start the zygote now and return at once, when a command knows it will create containers.

    Its interpreter start-up (about 60 ms) then runs on another core while the caller mounts
    roots and wires networks, instead of on the path of the first container's create.
    """
    with _PENDING_LOCK:
        if str(sock_path) in _PENDING or sock_path.exists():
            return
        _PENDING[str(sock_path)] = _spawn(sock_path)


def _await_prestart(sock_path: Path) -> None:
    with _PENDING_LOCK:  # held while waiting: concurrent creates wait for the same zygote
        pending = _PENDING.pop(str(sock_path), None)
        if pending is not None:
            _await(*pending)


def _spawn(sock_path: Path) -> tuple[Any, int]:
    """Start the zygote as a fresh interpreter; returns it and the pipe it reports readiness on.

    A fresh interpreter imports only the standard library and the monitor's code, so the
    monitors it forks share small pages: forking it from the caller would hand every monitor the
    caller's heap (pydantic models, a parsed stack file). ``-I -S`` keeps site-packages and
    their start-up hooks out of it (it needs none), which makes it faster to start and smaller.
    It daemonizes itself (fork, setsid) so that it is reparented to init and no caller is left
    to reap it.
    """
    import subprocess

    from orchestrator import isolated

    sock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    rd, wr = os.pipe()
    try:
        proc = subprocess.Popen(
            [*isolated.command("orchestrator.runtime.zygote", site_packages=False), str(sock_path), str(wr)],
            pass_fds=(wr,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd="/", close_fds=True,
        )
    finally:
        os.close(wr)
    return proc, rd


def _await(proc: Any, rd: int) -> None:
    """Wait until the zygote started by :func:`_spawn` listens (or gave up to another one)."""
    try:
        proc.wait(10.0)
        select.select([rd], [], [], 5.0)
    finally:
        os.close(rd)


def _daemon_main(sock_path: str, ready_fd: int) -> None:
    """Entry of the fresh interpreter: detach, then serve."""
    if os.fork():
        os._exit(0)
    os.setsid()
    gc.collect()
    gc.freeze()  # what is loaded now stays shared with every monitor forked later
    _serve(Path(sock_path), ready_fd)


def _serve(sock_path: Path, ready_fd: int) -> None:
    """The zygote's loop. Never returns. It sleeps until a request or a monitor's exit (SIGCHLD)."""
    # the monitor's code, imported here once for every monitor forked from this process (callers,
    # who only send requests, never import it)
    from orchestrator.runtime import monitor
    from orchestrator.runtime.init import close_fds_except
    from orchestrator.runtime.kernel import prepare_monitor_calls

    prepare_monitor_calls()
    monitor._quiet_signals()
    os.chdir("/")
    lock = os.open(str(sock_path) + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os._exit(0)  # another zygote is serving this directory
    with contextlib.suppress(FileNotFoundError):
        os.unlink(sock_path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    old = os.umask(0o177)
    unix_socket.bind(srv, sock_path)
    os.umask(old)
    srv.listen(64)
    devnull = os.open("/dev/null", os.O_RDWR)
    for i in (0, 1, 2):
        os.dup2(devnull, i)
    os.close(devnull)
    wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    _WAKE_FDS[:] = [wake_r, wake_w]
    close_fds_except({srv.fileno(), lock, ready_fd, wake_r, wake_w})
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so SIGCHLD reaches the wakeup fd
    os.write(ready_fd, b"R")
    os.close(ready_fd)
    children: set[int] = set()
    rehearsals = REHEARSALS
    while True:
        timeout = 0 if rehearsals else None if children else IDLE_EXIT
        ready = select.select([srv.fileno(), wake_r], [], [], timeout)[0]
        if not ready and rehearsals:  # only while nobody waits: a request never waits for one
            rehearsals -= 1
            try:
                _rehearse()
            except Exception:  # a preparation only: serving goes on without it
                rehearsals = 0
            continue
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 4096)
        if srv.fileno() in ready:
            with contextlib.suppress(OSError):
                conn, _ = srv.accept()
                with conn:
                    _handle(conn, srv, lock, children)
        while children:
            try:
                done, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                break
            if not done:
                break
            children.discard(done)
        if not ready and not children:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(sock_path)
            with contextlib.suppress(FileNotFoundError):  # names carry the code's fingerprint: none pile up
                os.unlink(str(sock_path) + ".lock")
            os._exit(0)


def _rehearse() -> None:
    """One run of a monitor's log relay, on a child that writes a line and a half and exits.

    CPython 3.11 rewrites a function's bytecode in place over its first calls (it counts them, then
    specializes) and fills its type-lookup cache as it goes. Run here, before the monitors are
    forked, that happens once in the zygote instead of in every monitor, on pages it would otherwise
    have shared: ~0.12 MB less private memory per monitor in a stack of 20, measured. (Rehearsing
    the zygote's own request decoding the same way made each monitor own ~0.1 MB more: not done.)
    """
    from orchestrator.runtime import relay
    from orchestrator.runtime.logfile import LogWriter

    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        pid = os.fork()
        if pid == 0:
            try:
                os.write(w, b"line\npartial")
            finally:
                os._exit(0)
    finally:
        os.close(w)
    pidfd = os.pidfd_open(pid)
    try:
        relay.relay(pid, pidfd, {r: "stdout"}, LogWriter(os.devnull))
    finally:
        os.close(pidfd)
        os.close(r)


def _handle(conn: socket.socket, srv: socket.socket, lock: int, children: set[int]) -> None:
    from orchestrator.runtime import monitor  # imported by _serve already

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    raw, fds, _, _ = socket.recv_fds(conn, MAX_MSG, 64)
    try:
        if uid != 0 or len(fds) < _N_FIXED:
            return
        try:
            plan, report, stdio = _decode(raw, fds)
        except (ValueError, KeyError, TypeError, EOFError):  # not a request pystack sent: no answer, and serve on
            return
        pid = os.fork()
        if pid == 0:
            srv.close()
            os.close(lock)
            conn.close()
            monitor._quiet_signals()  # drop the zygote's SIGCHLD handler and wakeup fd
            for fd in _WAKE_FDS:
                os.close(fd)
            for i, fd in enumerate(stdio):
                os.dup2(fd, i)
            for fd in stdio:
                os.close(fd)
            monitor._main(plan, report, monitor.own_body)
        children.add(pid)
        conn.send(b"K")
    finally:
        for fd in fds:
            os.close(fd)


def main(argv: list[str]) -> int:
    """``SOCKET READY_FD``: detach and serve (never returns in the serving process)."""
    _daemon_main(argv[0], int(argv[1]))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
