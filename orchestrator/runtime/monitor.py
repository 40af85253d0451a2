"""The per-container monitor: parent of PID 1 for its whole life, as conmon or containerd-shim.

Forked twice from the caller (so the caller never has to reap it and its death loses nothing),
it puts PID 1 into its cgroup, relays create errors, then sleeps in poll() on PID 1's pidfd and
its stdout/stderr pipes, writing Docker json-file logs; when PID 1 exits it records the exit
code and the OOM flag in ``exit.json`` and leaves. Its code path is stdlib plus the already
imported engine modules, and the caller freezes the GC before forking so that the monitor's
pages stay shared copy-on-write (USS is what each container costs).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.cgroups import open_cgroup
from orchestrator.runtime import init as cinit
from orchestrator.runtime import kernel as k
from orchestrator.runtime.logfile import LogWriter
from orchestrator.runtime.store import ContainerDir, start_time, write_json


@dataclass
class MonitorPlan:
    cdir: ContainerDir
    cfg: dict[str, Any]
    bundle: Path
    ns_new: int
    ns_join: list[tuple[str, int]]  # (path, CLONE_*) for the init to setns
    pid_ns: tuple[str | None, bool]  # (path to join, unshare new)
    time_ns: bool
    cgroups_path: str | None
    seccomp_bpf: bytes | None
    log_path: str | None
    log_max_size: int | None
    log_max_files: int
    console_socket: str | None


def spawn(plan: MonitorPlan, timeout: float = 30.0, body: Callable[[MonitorPlan, int], None] | None = None,
          ) -> dict[str, Any]:
    """Start the monitor; return its report ({"pid":…} or {"error":…}) once the container is created."""
    r, w = os.pipe2(os.O_CLOEXEC)
    gc.freeze()
    try:
        mid = os.fork()
        if mid == 0:
            try:
                os.close(r)
                if os.fork() == 0:
                    _main(plan, w, body or _run)
            finally:
                os._exit(0)
    finally:
        gc.unfreeze()
    os.close(w)
    os.waitpid(mid, 0)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                return {"error": "container creation timed out"}
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
    finally:
        os.close(r)
    raw = b"".join(chunks)
    if not raw:
        return {"error": "the monitor died while creating the container"}
    return json.loads(raw)  # type: ignore[no-any-return]


def _main(plan: MonitorPlan, report_fd: int, body: Callable[[MonitorPlan, int], None]) -> None:
    """The monitor process. Never returns."""
    code = 0
    try:
        os.setsid()
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(s, signal.SIG_IGN)
        body(plan, report_fd)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.write(report_fd, json.dumps({"error": f"monitor: {type(exc).__name__}: {exc}"}).encode())
        code = 1
    os._exit(code)


def _run(plan: MonitorPlan, report_fd: int) -> None:
    cfg = plan.cfg
    devnull = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    pipes: dict[int, str] = {}
    child_stdio: list[int] = [0, 1, 2]
    if plan.log_path:
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        pipes = {out_r: "stdout", err_r: "stderr"}
        child_stdio = [devnull, out_w, err_w]
    pid_path, pid_new = plan.pid_ns
    if pid_path:
        fd = os.open(pid_path, os.O_RDONLY | os.O_CLOEXEC)
        k.setns(fd, k.CLONE_NEWPID)
        os.close(fd)
    elif pid_new or plan.time_ns:
        k.unshare((k.CLONE_NEWPID if pid_new else 0) | (k.CLONE_NEWTIME if plan.time_ns else 0))
    join_fds = [(os.open(p, os.O_RDONLY | os.O_CLOEXEC), flag) for p, flag in plan.ns_join]
    os.mkfifo(plan.cdir.fifo, 0o600)
    fifo_fd = os.open(plan.cdir.fifo, os.O_RDWR | os.O_CLOEXEC)
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        for i, fd in enumerate(child_stdio):
            if fd != i:
                os.dup2(fd, i)
        cinit.run(cinit.InitPlan(cfg, plan.bundle, plan.ns_new, join_fds, go_r, ready_w, fifo_fd,
                                 plan.seccomp_bpf))
    for fd in [go_r, ready_w, fifo_fd, *(f for f, _ in join_fds), *child_stdio[1:] * bool(pipes)]:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    cg = None
    try:
        if plan.cgroups_path:
            cg = open_cgroup(plan.cgroups_path)
            cg.create()
            cg.apply((cfg.get("linux") or {}).get("resources") or {})
            cg.add_process(pid)
    except Exception as exc:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        _destroy(cg)
        os.write(report_fd, json.dumps({"error": str(exc)}).encode())
        return
    os.write(go_w, b"G")
    os.close(go_w)
    msg = os.read(ready_r, 65536)
    os.close(ready_r)
    if msg != b"R":
        os.waitpid(pid, 0)
        _destroy(cg)
        err = msg[1:].decode("utf-8", "replace") if msg.startswith(b"E") else "container init died during setup"
        os.write(report_fd, json.dumps({"error": err}).encode())
        return
    mypid = os.getpid()
    write_json(plan.cdir.state_file, {
        "id": plan.cdir.id, "pid": pid, "pid_start": start_time(pid), "monitor_pid": mypid,
        "monitor_start": start_time(mypid), "bundle": str(plan.bundle), "created": time.time(),
        "annotations": cfg.get("annotations") or {}, "cgroups_path": plan.cgroups_path,
        "oci_version": cfg.get("ociVersion", ""), "log_path": plan.log_path,
    })
    os.write(report_fd, json.dumps({"pid": pid}).encode())
    os.close(report_fd)
    for i in (0, 1, 2):
        os.dup2(devnull, i)
    os.close(devnull)
    record_exit(plan, pid, pidfd, pipes, cg)


def record_exit(plan: MonitorPlan, pid: int, pidfd: int, pipes: dict[int, str], cg: Any) -> None:
    """Relay logs until PID 1 is gone, then write exit.json with the code and the OOM flag."""
    status = _supervise(plan, pid, pidfd, pipes)
    oom = False
    if cg is not None:
        try:
            oom = cg.oom_kill_count() > 0
        except Exception:
            oom = False
    code, sig = _decode(status)
    write_json(plan.cdir.exit_file, {"code": code, "signal": sig, "oom_killed": bool(oom and sig == 9),
                                     "finished_at": time.time()})


def _supervise(plan: MonitorPlan, pid: int, pidfd: int, pipes: dict[int, str]) -> int:
    log = LogWriter(plan.log_path, plan.log_max_size, plan.log_max_files) if plan.log_path else None
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    for fd in pipes:
        poller.register(fd, select.POLLIN)
    open_pipes = set(pipes)
    exited_at: float | None = None
    while open_pipes or exited_at is None:
        timeout: float | None = log.next_deadline() if log else None
        if exited_at is not None:
            left = exited_at + 2.0 - time.monotonic()  # grandchildren holding the pipes: give up
            if left <= 0:
                break
            timeout = left if timeout is None else min(timeout, left)
        events = poller.poll(None if timeout is None else int(timeout * 1000) + 1)
        for fd, _ev in events:
            if fd == pidfd:
                poller.unregister(pidfd)
                exited_at = time.monotonic()
                continue
            data = os.read(fd, 65536)
            if data and log:
                log.feed(pipes[fd], data)
            elif not data:
                poller.unregister(fd)
                open_pipes.discard(fd)
        if log:
            log.flush_partial()
    if log:
        log.close()
    _, status = os.waitpid(pid, 0)
    return status


def _decode(status: int) -> tuple[int, int | None]:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return 128 + sig, sig
    return os.WEXITSTATUS(status), None


def _destroy(cg: Any) -> None:
    if cg is None:
        return
    try:
        cg.kill_all(9)
        cg.destroy()
    except Exception:
        pass
