"""The caller's half of ``create``: the container's cgroup, the monitor, the release of the init.

Protocol (all pipes close-on-exec, created here and inherited down the fork chain):
caller → monitor → init. The caller makes the cgroup and sets its limits first; the monitor forks
the init into it (born in its cgroup2 cgroup, joining the v1 hierarchies by itself: see
``cgroups.SelfJoin``) and reports ``"<init pid> <monitor pid>\\n"``; the caller writes ``G`` on the
init's *go* pipe (in a user namespace, after putting that pid into the cgroup itself); the init
builds the container and answers ``R`` (or ``E<message>``) on its *ready* pipe, then blocks on
``exec.fifo`` until ``start``. With OCI hooks there is one more exchange before the mounts: the
init sends ``H``, the caller runs prestart and createRuntime and answers ``G<state JSON>\\n``.
If the caller dies at any point, the go pipe closes and an init still waiting for it exits; the
monitor then records that and leaves.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from typing import Any

from orchestrator.cgroups import open_cgroup
from orchestrator.errors import RuntimeFailure
from orchestrator.runtime import hooks, monitor_plan
from orchestrator.runtime.jsonfile import write_json
from orchestrator.runtime.store import start_time

TIMEOUT = 30.0


def launch(plan: monitor_plan.MonitorPlan, *, use_zygote: bool = True) -> int:
    """Create the container described by ``plan``; return its init's pid (in the host's namespace)."""
    cdir = plan.cdir
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    os.mkfifo(cdir.fifo, 0o600)
    if hooks.of(plan.cfg, "startContainer"):
        os.mkfifo(cdir.start_result, 0o600)
    fifo_fd = os.open(cdir.fifo, os.O_RDWR | os.O_CLOEXEC)
    plan.init_fds = (go_r, ready_w, fifo_fd)
    for_child = [go_r, ready_w, fifo_fd, *(f for f, _ in plan.ns_join_fds)]  # ours to close once forked
    slave = None
    cg = None
    report = -1
    pid = mpid = 0
    try:
        if (plan.cfg.get("process") or {}).get("terminal") and plan.console_socket:
            # A logged container's monitor keeps a copy of the master when it is forked from here
            # (the zygote's monitors serve callers that do not wait for the container)
            slave = _send_console(plan, keep=bool(plan.log_path) and not use_zygote)
        me = os.getpid()
        write_json(cdir.create_file, {"pid": me, "pid_start": start_time(me), "cgroups_path": plan.cgroups_path})
        if plan.cgroups_path:
            # Made and limited before the init exists, so that it can be born in it (or join it by
            # itself) without the caller's write to cgroup.procs: see SelfJoin.
            cg = open_cgroup(plan.cgroups_path)
            cg.create()
            cg.apply((plan.cfg.get("linux") or {}).get("resources") or {})
            if not plan.userns:  # inside its user namespace the init may not write the host's cgroup files
                join = cg.self_join()
                plan.join_v2, plan.join_v1, plan.joins_itself = join.v2_dir, list(join.v1_tasks), True
        try:
            if use_zygote:
                from orchestrator.runtime import zygote  # here: socket and the rest stay out of a command without one

                with contextlib.suppress(OSError):  # no zygote: fork from here (same, more memory per container)
                    report = zygote.fork_monitor(zygote.socket_path(cdir.dir.parent), plan)
            if report < 0:
                from orchestrator.runtime import monitor

                report = monitor.fork_monitor(plan, monitor.own_body)
        finally:
            for fd in for_child:
                os.close(fd)
            for_child.clear()
        line = monitor_plan.read_report(report, TIMEOUT, until_eof=False)
        if not line or not line[:1].isdigit():
            raise RuntimeFailure(_monitor_error(line))
        pid, mpid = (int(x) for x in line.split())
        if cg is not None and not plan.joins_itself:
            try:
                cg.add_process(pid)
            except Exception:
                # The init builds its root while we wait here; if it already failed, say why.
                early = _read_ready(ready_r, 2.0)
                if early.startswith(b"E"):
                    raise RuntimeFailure(early[1:].decode("utf-8", "replace")) from None
                raise
        with contextlib.suppress(BrokenPipeError):  # an init that failed early: its message follows
            os.write(go_w, b"G")
        msg = _read_ready(ready_r)
        if msg == b"H":  # namespaces made, mounts not yet: the runtime-namespace hooks run now
            state = hooks.state_json(cdir.id, "creating", pid, str(plan.bundle), plan.cfg.get("annotations"),
                                     plan.cfg.get("ociVersion", ""))
            for phase in ("prestart", "createRuntime"):
                hooks.run_all(hooks.of(plan.cfg, phase), state, phase)
            os.write(go_w, b"G" + state + b"\n")
            msg = _read_ready(ready_r)
        if msg != b"R":
            err = msg[1:].decode("utf-8", "replace") if msg.startswith(b"E") else "container init died during setup"
            raise RuntimeFailure(err)
        write_json(cdir.state_file, {
            "id": cdir.id, "pid": pid, "pid_start": start_time(pid), "monitor_pid": mpid,
            "monitor_start": start_time(mpid), "bundle": str(plan.bundle), "created": time.time(),
            "annotations": plan.cfg.get("annotations") or {}, "cgroups_path": plan.cgroups_path,
            "oci_version": plan.cfg.get("ociVersion", ""), "log_path": plan.log_path,
            "hooks": {p: hooks.of(plan.cfg, p) for p in ("startContainer", "poststart", "poststop")
                      if hooks.of(plan.cfg, p)},
        })
        cdir.create_file.unlink()
        return pid
    except BaseException:
        _abort(pid, mpid, cg)
        raise
    finally:
        for fd in (*for_child, go_w, ready_r, report):
            if fd >= 0:
                os.close(fd)
        if slave is not None:
            os.close(slave)
        if plan.console_master >= 0:  # the monitor has its own copy by now (or failed)
            os.close(plan.console_master)
            plan.console_master = -1


def _send_console(plan: monitor_plan.MonitorPlan, *, keep: bool) -> int:
    """A pty for process.terminal: the master goes to --console-socket (as runc), the init takes the slave.

    With ``keep`` the monitor gets a copy of the master too (``plan.console_master``), which it
    reads only if the caller dies before the container: then the pty is not hung up under the
    container, and what it prints still reaches its log.
    """
    import socket

    from orchestrator import unix_socket

    master, slave = os.openpty()
    try:
        plan.console = os.ttyname(slave)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as s:
            unix_socket.connect(s, str(plan.console_socket))
            socket.send_fds(s, [b"console"], [master])
        if keep:
            plan.console_master, master = master, -1
    except OSError as exc:
        os.close(slave)
        raise RuntimeFailure(f"console socket {plan.console_socket}: {exc.strerror or exc}") from None
    finally:
        if master >= 0:
            os.close(master)
    return slave


def _monitor_error(line: bytes | None) -> str:
    if line is None:
        return "container creation timed out"
    if not line:
        return "the monitor died while creating the container"
    import json

    try:
        return str(json.loads(line).get("error", line.decode()))
    except ValueError:
        return line.decode("utf-8", "replace")


def _read_ready(fd: int, timeout: float = TIMEOUT) -> bytes:
    if not select.select([fd], [], [], timeout)[0]:
        return b"Econtainer setup timed out"
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        chunks.append(b)
        if chunks in ([b"R"], [b"H"]):
            break
    return b"".join(chunks)


def _abort(pid: int, mpid: int, cg: Any) -> None:
    """Undo a failed create: the init, the monitor (which exits with it), the cgroup."""
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if mpid:
        with contextlib.suppress(OSError):
            pidfd = os.pidfd_open(mpid)
            try:
                select.select([pidfd], [], [], 5.0)
            finally:
                os.close(pidfd)
    if cg is not None:
        with contextlib.suppress(Exception):
            cg.kill_all(signal.SIGKILL)
            cg.destroy()
