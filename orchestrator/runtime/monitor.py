"""The per-container monitor: parent of PID 1 for its whole life, as conmon or containerd-shim.

Forked by the zygote (:mod:`orchestrator.runtime.zygote`), or twice from the caller where there
is none (so the caller never has to reap it and its death loses nothing), it forks PID 1 into the
container's PID namespace, then sleeps in poll() on PID 1's pidfd and its stdout/stderr pipes,
writing Docker json-file logs (:mod:`orchestrator.runtime.relay`); when PID 1 exits it records the
exit code and the OOM flag in ``exit.json`` and leaves. The caller does the rest of create
(cgroup, release of the init, state file), so the monitor runs as little code as possible and its
pages stay shared copy-on-write (USS is what each container costs). One forked from its caller
re-executes lean if that caller dies first (:mod:`orchestrator.runtime.lean_monitor`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from orchestrator.cgroups import SelfJoin
from orchestrator.runtime import init as cinit
from orchestrator.runtime import kernel as k
from orchestrator.runtime import relay
from orchestrator.runtime.logfile import LogWriter
from orchestrator.runtime.monitor_plan import MonitorPlan, read_report


def fork_monitor(plan: MonitorPlan, body: Callable[[MonitorPlan, int], None]) -> int:
    """Fork the monitor (twice, so nobody has to reap it); return the read end of its report pipe."""
    r, w = os.pipe2(os.O_CLOEXEC)
    plan.caller_fd = os.pidfd_open(os.getpid())  # the monitor watches its caller: see record_exit
    gc.freeze()  # the monitor's collector must not touch (and so un-share) every inherited object
    try:
        mid = os.fork()
        if mid == 0:
            try:
                os.close(r)
                # Only what the monitor and the init are handed: the caller's other descriptors
                # (the write end of the init's go pipe above all, but also its database, locks
                # and sockets) would otherwise live on in the monitor, and an init whose caller
                # died would wait for its "go" for ever.
                cinit.close_fds_except({w, plan.caller_fd, plan.console_master, *plan.init_fds,
                                        *(f for f, _ in plan.ns_join_fds)})
                if os.fork() == 0:
                    _main(plan, w, body)
            finally:
                os._exit(0)
    finally:
        gc.unfreeze()
        os.close(plan.caller_fd)
        plan.caller_fd = -1
    os.close(w)
    os.waitpid(mid, 0)
    return r


def spawn(plan: MonitorPlan, body: Callable[[MonitorPlan, int], None], timeout: float = 30.0) -> dict[str, Any]:
    """Start a monitor whose body reports one JSON object ({"pid":…} or {"error":…}) and closes."""
    r = fork_monitor(plan, body)
    try:
        raw = read_report(r, timeout, until_eof=True)
    finally:
        os.close(r)
    if raw is None:
        return {"error": "container creation timed out"}
    if not raw:
        return {"error": "the monitor died while creating the container"}
    return json.loads(raw)  # type: ignore[no-any-return]


def _main(plan: MonitorPlan, report_fd: int, body: Callable[[MonitorPlan, int], None]) -> None:
    """The monitor process. Never returns."""
    code = 0
    try:
        os.setsid()
        _quiet_signals()
        # Everything inherited was frozen before the fork (fork_monitor): a collection sees only
        # what the monitor itself makes, never the caller's objects (nor their locks).
        gc.enable()
        body(plan, report_fd)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.write(report_fd, json.dumps({"error": f"monitor: {type(exc).__name__}: {exc}"}).encode())
        code = 1
    os._exit(code)


def _quiet_signals() -> None:
    """Forget the caller's signal handling (the zygote's SIGCHLD handler and wakeup fd).

    Through ``_signal``, the C module under ``signal``: ``signal.signal`` turns the handler it
    replaces back into an enum member, and for the zygote's Python handler that lookup fails and
    raises and catches a ValueError, whose objects scattered over pages the monitor shared with
    the zygote (~0.26 MB more private memory in a forked child that does only this, measured).
    With the zygote's other preparations (``kernel.prepare_monitor_calls``, ``zygote._rehearse``),
    a monitor in a stack of 20 owns ~1.17 MB instead of ~1.40 MB.
    """
    import _signal  # type: ignore[import-not-found]  # no stub in typeshed for the C module

    with contextlib.suppress(ValueError):
        _signal.set_wakeup_fd(-1)
    _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
    for s in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGPIPE):
        _signal.signal(s, _signal.SIG_IGN)


def own_body(plan: MonitorPlan, report_fd: int) -> None:
    """pystack's monitor: fork the init into the PID namespace, report its pid, then only supervise.

    Everything else (cgroup, state file, error relay) is the caller's job, so the monitor executes
    as little code as possible and its copy-on-write pages stay shared.
    """
    devnull = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    pipes: dict[int, str] = {}
    child_stdio: list[int] = [0, 1, 2]
    mine: list[int] = []  # the init's ends of its stdio: closed here once it is forked
    held: list[int] = []  # kept open, unread, while PID 1 runs (the write end of an open stdin)
    console_fd = -1
    if plan.own_console:
        # Docker's tty container: one stream, the pty's, logged as stdout by whoever holds the master
        master, console_fd = os.openpty()
        plan.console = os.ttyname(console_fd)
        pipes = {master: "stdout"}
        child_stdio = [devnull, devnull, devnull]  # the init takes the console as 0, 1 and 2
        mine = [console_fd]
    elif plan.log_path:
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        pipes = {out_r: "stdout", err_r: "stderr"}
        child_stdio = [0 if plan.attach_stdin else devnull, out_w, err_w]
        mine = [out_w, err_w]
        if plan.open_stdin:
            in_r, in_w = os.pipe2(os.O_CLOEXEC)
            child_stdio[0] = in_r
            mine.append(in_r)
            held.append(in_w)
    go_r, ready_w, fifo_fd = plan.init_fds

    def become_init(born_in_v2: bool = False) -> None:
        for i, fd in enumerate(child_stdio):
            if fd != i:
                os.dup2(fd, i)
        join = SelfJoin(None if born_in_v2 else plan.join_v2, tuple(plan.join_v1)) if plan.joins_itself else None
        cinit.run(cinit.InitPlan(plan.config(), Path(plan.bundle), plan.ns_new, plan.ns_join_fds, go_r, ready_w,
                                 fifo_fd, plan.seccomp_bpf, console=plan.console, console_fd=console_fd,
                                 userns=plan.userns, start_result=str(plan.cdir.start_result), cgroup_join=join))

    if plan.userns:
        pid = _fork_in_userns(plan, become_init)
    else:
        pid_path, pid_new = plan.pid_ns
        if pid_path:
            fd = os.open(pid_path, os.O_RDONLY | os.O_CLOEXEC)
            k.setns(fd, k.CLONE_NEWPID)
            os.close(fd)
        elif pid_new or plan.time_ns:
            k.unshare((k.CLONE_NEWPID if pid_new else 0) | (k.CLONE_NEWTIME if plan.time_ns else 0))
        pid, born_in_v2 = _fork_into(plan.join_v2) if plan.joins_itself and plan.join_v2 else (os.fork(), False)
        if pid == 0:
            become_init(born_in_v2)
    for fd in (go_r, ready_w, fifo_fd, *(f for f, _ in plan.ns_join_fds), *mine):
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    os.write(report_fd, b"%d %d\n" % (pid, os.getpid()))
    os.close(report_fd)
    for i in (0, 1, 2):
        os.dup2(devnull, i)
    os.close(devnull)
    record_exit(plan, pid, pidfd, pipes, plan.cgroups_path, held)


def _fork_into(v2_dir: str) -> tuple[int, bool]:
    """Fork the init born in its cgroup2 cgroup; ``(pid, True)``, or ``(pid, False)`` from a plain
    fork where the kernel refuses (before Linux 5.7, or a seccomp filter that forbids clone3), in
    which case the init joins by writing to cgroup.procs, as slow as the caller's write but correct."""
    try:
        fd = os.open(v2_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return os.fork(), False
    try:
        return k.fork_into_cgroup(fd), True
    except OSError:
        return os.fork(), False
    finally:
        os.close(fd)


def _fork_in_userns(plan: MonitorPlan, become_init: Callable[[], None]) -> int:
    """User namespace first, then the PID namespace inside it, so the init may mount its /proc.

    A stage-1 child creates the user namespace; the monitor (still in the host's) writes its
    uid/gid maps; the child creates the PID (and time) namespace, forks the init and exits. The
    monitor is a child subreaper, so it adopts the init and can reap it.
    """
    k.prctl(k.PR_SET_CHILD_SUBREAPER, 1)
    up_r, up_w = os.pipe2(os.O_CLOEXEC)
    down_r, down_w = os.pipe2(os.O_CLOEXEC)
    stage1 = os.fork()
    if stage1 == 0:
        try:
            k.unshare(k.CLONE_NEWUSER)
            os.write(up_w, b"U")
            if os.read(down_r, 1) == b"M":
                pid_new = plan.pid_ns[1]
                k.unshare((k.CLONE_NEWPID if pid_new else 0) | (k.CLONE_NEWTIME if plan.time_ns else 0))
                child = os.fork()
                if child == 0:
                    become_init()
                os.write(up_w, b"%d\n" % child)
        finally:
            os._exit(0)
    os.close(up_w)
    os.close(down_r)
    try:
        if os.read(up_r, 1) != b"U":
            raise OSError("could not create the user namespace")
        linux = plan.config().get("linux") or {}
        for name, key in (("uid_map", "uidMappings"), ("gid_map", "gidMappings")):
            lines = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in linux.get(key) or [])
            with open(f"/proc/{stage1}/{name}", "w") as f:
                f.write(lines)
        os.write(down_w, b"M")
        line = os.read(up_r, 64)
        if not line.strip().isdigit():
            raise OSError("the user namespace's first process died")
        return int(line)
    finally:
        os.close(up_r)
        os.close(down_w)
        os.waitpid(stage1, 0)


def record_exit(plan: MonitorPlan, pid: int, pidfd: int, pipes: dict[int, str], cgroups_path: str | None,
                held: Sequence[int] = ()) -> None:
    """Relay logs until PID 1 is gone, then write exit.json with the code and the OOM flag.

    A monitor forked by its caller (``plan.caller_fd``) re-executes itself lean if that caller
    dies while PID 1 still runs: see :mod:`orchestrator.runtime.lean_monitor`. ``held`` stay open
    until then (and through that exec).
    """
    log = LogWriter(plan.log_path, plan.log_max_size, plan.log_max_files) if plan.log_path else None
    orphaned = None
    # the pty's master, relayed by the caller while it lives: logged here as stdout, as the caller logs it
    standby = {plan.console_master: "stdout"} if plan.console_master >= 0 and log else {}
    if plan.caller_fd >= 0:
        orphaned = (plan.caller_fd,
                    lambda: _become_lean(plan, pid, pidfd, {**pipes, **standby}, cgroups_path, held))
    status = relay.relay(pid, pidfd, pipes, log, orphaned, standby)
    relay.record(plan.cdir.exit_file, status, cgroups_path)
    if plan.orphan_exit_command and plan.caller_fd >= 0:
        # the caller may have died (before PID 1, should the lean re-exec that runs the command
        # itself have failed, or after it) or live to act on the exit: a watcher waits to see
        from orchestrator.runtime.exit_command import run_after_caller

        run_after_caller(plan.orphan_exit_command, _unless_gone(plan), plan.caller_fd)


def _unless_gone(plan: MonitorPlan) -> str:
    return plan.orphan_exit_unless_gone or str(plan.cdir.dir)


def _become_lean(plan: MonitorPlan, pid: int, pidfd: int, pipes: dict[int, str], cgroups_path: str | None,
                 held: Sequence[int]) -> None:
    """Exec a fresh interpreter that goes on relaying, so that the dead caller's pages are let go.

    Same process, so PID 1 stays its child and its pid and start time, which the state file
    names, stay true. Should the exec fail, this copy simply carries on.
    """
    from orchestrator import isolated

    carried = (pidfd, *pipes, *held)
    args = {"pid": pid, "pidfd": pidfd, "pipes": {str(fd): name for fd, name in pipes.items()},
            "log": [plan.log_path, plan.log_max_size, plan.log_max_files],
            "exit_file": str(plan.cdir.exit_file), "cgroups_path": cgroups_path,
            "exit_command": plan.orphan_exit_command, "exit_unless_gone": _unless_gone(plan)}
    argv = [*isolated.command("orchestrator.runtime.lean_monitor", site_packages=False), json.dumps(args)]
    for fd in carried:
        os.set_inheritable(fd, True)
    try:
        os.execv(argv[0], argv)
    except OSError:
        for fd in carried:
            os.set_inheritable(fd, False)
