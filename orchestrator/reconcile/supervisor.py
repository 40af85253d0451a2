"""The per-stack supervisor left behind by ``up -d``: restart policies and health checks, without a daemon.

One process per stack watches every container of it. It waits on each container's PID 1 with a
pidfd (no polling: an idle stack costs no CPU), applies the restart policy with Docker's back-off
when a process exits, runs health checks on their intervals, and re-reads the state when a
command tells it to over its unix socket. It owns no container: ``kill -9`` of it loses nothing,
and the next command starts a new one that adopts what runs.

Plain threads, no event loop (importing asyncio and anyio was two fifths of its memory): one per
watched container, blocked in ``poll`` on the pidfd and a wake-up pipe, one per running
container with a health check, and one for the socket; SIGTERM and SIGINT are taken by the main
thread with ``sigwait``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from orchestrator import unix_socket
from orchestrator.errors import PystackError
from orchestrator.paths import Paths
from orchestrator.reconcile import health, lifecycle
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.desired import RunInfo
from orchestrator.reconcile.health_state import HealthState
from orchestrator.reconcile.policy import RestartState, next_delay, should_restart
from orchestrator.reconcile.supervisor_client import read_line
from orchestrator.state import containers as cstate
from orchestrator.state.db import connect

if TYPE_CHECKING:
    from orchestrator.runtime.api import ContainerState
    from orchestrator.state.containers import ContainerRecord

SIGNALS = (signal.SIGTERM, signal.SIGINT)
T = TypeVar("T")


class Watch:
    """What stops one container's watcher: an event for its sleeps, a pipe for its pidfd waits."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC)

    def cancel(self) -> None:
        self.cancelled.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def sleep(self, seconds: float) -> bool:
        """False when cancelled meanwhile."""
        return not self.cancelled.wait(max(0.0, seconds))

    def wait_exit(self, pid: int) -> bool:
        """Until ``pid`` exits (True) or the watch is cancelled (False)."""
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            return True
        try:
            poller = select.poll()  # not select(): a big stack's descriptors pass 1024
            poller.register(pidfd, select.POLLIN)
            poller.register(self._wake_r, select.POLLIN)
            ready = [fd for fd, _ in poller.poll()]
        finally:
            os.close(pidfd)
        return pidfd in ready and not self.cancelled.is_set()

    def close(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def recorded_exit(rt: Any, cid: str, timeout: float = 5.0) -> Any:
    """The exit status of a run that has ended, once its monitor has recorded it; None if it never will.

    A run that ended a moment ago (a restart whose process exits at once) already counts as
    stopped while its monitor still drains the log pipes and has not written ``exit.json``:
    reading the record straight away found none, and the exit code was lost (-1).
    """
    try:
        return rt.wait(cid, timeout)
    except PystackError:  # the monitor is gone without a record
        return rt.exit_status(cid)


class Supervisor:
    def __init__(self, ctx: Context, project: str) -> None:
        self.ctx = ctx
        self.project = project
        self.watched: dict[str, Watch] = {}
        self.lock = threading.Lock()  # ``watched``: the socket thread reloads, watchers leave
        # One connection for every watcher, taken in turns: a connection per thread cost ~0.2 MB
        # per container. (A restart or a probe opens the thread's own, through the context.)
        self._conn = connect(ctx.paths.state_db)
        self._db_lock = threading.Lock()

    def _q(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(connection, *args, **kwargs)`` on the shared connection."""
        with self._db_lock:
            return fn(self._conn, *args, **kwargs)

    def log(self, msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)

    def run(self) -> None:
        """Serve the socket and watch the containers until SIGTERM or SIGINT (blocked by the caller)."""
        sock_path = self.ctx.paths.supervisor_socket(self.project)
        with contextlib.suppress(FileNotFoundError):
            sock_path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix_socket.bind(listener, sock_path)
        listener.listen(16)
        threading.Thread(target=self._serve, args=(listener,), name="socket", daemon=True).start()
        self.reload()
        signal.sigwait(SIGNALS)
        self.exit_now()

    def reload(self) -> None:
        recs = {r.id: r for r in self._q(cstate.for_project, self.project)}
        with self.lock:
            for cid in list(self.watched):
                if cid not in recs:
                    self.watched.pop(cid).cancel()
            for cid, rec in recs.items():
                watches = not rec.one_off or lifecycle.removed_on_exit(self.ctx, rec)  # run -d --rm
                if cid not in self.watched and watches and rec.status not in ("creating", "removing"):
                    watch = self.watched[cid] = Watch()
                    threading.Thread(target=self._watch, args=(cid, watch), name=f"watch-{cid}",
                                     daemon=True).start()

    def exit_now(self) -> None:
        """Leave at once: the supervisor owns no container and every change it made is committed,
        so there is nothing to wind down, and waiting for probe threads would only slow ``down``."""
        run_dir = self.ctx.paths.stack_run(self.project)
        for name in ("supervisor.pid", "supervisor.sock"):
            with contextlib.suppress(FileNotFoundError):
                (run_dir / name).unlink()
        os._exit(0)

    def _serve(self, listener: socket.socket) -> None:
        while True:
            conn, _ = listener.accept()
            with conn, contextlib.suppress(Exception):
                conn.settimeout(5)
                msg: dict[str, Any] = json.loads(read_line(conn))
                op = msg.get("op")
                if op == "reload":
                    self.reload()
                with self.lock:
                    watched = sorted(self.watched)
                reply = {"ok": True, "op": op, "pid": os.getpid(), "watched": watched}
                conn.sendall(json.dumps(reply).encode() + b"\n")
                if op == "shutdown":
                    self.exit_now()

    def _watch(self, cid: str, watch: Watch) -> None:
        try:
            self._watch_loop(cid, watch)
        except Exception as exc:  # one container's trouble must not end the others' watch
            self.log(f"{cid}: watcher failed: {type(exc).__name__}: {exc}")
        finally:
            with self.lock:
                if self.watched.get(cid) is watch:
                    del self.watched[cid]
            watch.close()

    def _watch_loop(self, cid: str, watch: Watch) -> None:
        restart = RestartState()
        start_failed = False  # the last restart never ran: the next wait backs off as after a quick exit
        while not watch.cancelled.is_set():
            rec = self._q(cstate.get, cid)
            if rec is None:
                return
            info = RunInfo.from_record_spec(rec.spec)
            rt = self.ctx.runtime(info.runtime)
            try:
                st: ContainerState | None = rt.state(cid)
            except PystackError:
                if not lifecycle.lost_in_restart(self.ctx, rec):
                    return
                st = None  # the last restart failed half-way: its run is over, the policy still applies
            run_started = rec.started_at
            if st is None:
                code = rec.exit_code if rec.exit_code is not None else -1
            elif st.status in ("running", "paused") and st.pid:
                run_over = threading.Event()
                if info.healthcheck and not info.healthcheck.disabled:
                    threading.Thread(target=self._health_loop, args=(cid, info, watch, run_over),
                                     name=f"health-{cid}", daemon=True).start()
                exited = watch.wait_exit(st.pid)
                run_over.set()
                if not exited:
                    return  # cancelled
                status = rt.wait(cid, 5.0)
                code = status.code if status else -1
                changes: dict[str, Any] = {"finished_at": time.time(), "exit_code": code,
                                           "oom_killed": bool(status and status.oom_killed)}
                if not self._q(cstate.record_exit, cid, started_at=run_started, **changes):
                    now = self._q(cstate.get, cid)
                    if now is None or now.started_at != run_started:
                        continue  # a command restarted it meanwhile: watch the new run
                    # else a command saw the exit first and recorded it (and its event)
                self.log(f"{rec.name} exited with {code}")
            elif st.status == "created":
                return  # created but never started (up --no-start): nothing to supervise yet
            else:  # it exited while nobody watched (before this supervisor, or between two of them)
                status = recorded_exit(rt, cid)
                code = status.code if status else -1
                if rec.status in ("running", "paused"):
                    self._q(cstate.record_exit, cid, started_at=run_started,
                            finished_at=status.finished_at if status else time.time(),
                            exit_code=code, oom_killed=bool(status and status.oom_killed))
            if rec.one_off:  # only a detached ``run --rm`` is watched: gone once it ends, as Docker's AutoRemove
                self._remove_one_off(rec)
                return
            verdict = self._still_ours(cid, run_started)
            if verdict != "ours":
                if verdict == "gone":
                    return
                continue
            # a restart that failed counts as a run of no length: timed from the last run's start,
            # failed restarts (a namespace donor not back yet) soon passed for a long, healthy run
            # and were retried without any back-off
            ran_for = 0.0 if start_failed else time.time() - (run_started or time.time())
            if not should_restart(info.restart, code, restart.attempts, stopped_by_user=False):
                return
            delay = next_delay(info.restart, restart, ran_for)
            if not watch.sleep(delay):
                return
            verdict = self._still_ours(cid, run_started)
            if verdict != "ours":
                if verdict == "gone":
                    return
                continue
            rec = self._q(cstate.get, cid)
            assert rec is not None
            try:
                lifecycle.start(self.ctx, rec)
            except PystackError as exc:
                self.log(f"{rec.name}: restart failed: {exc}")
                start_failed = True
                continue
            start_failed = False
            self._q(cstate.update, cid, restart_count=rec.restart_count + 1)
            self._q(cstate.add_event, self.project, "restart", service=rec.service, container=rec.name,
                    container_id=rec.id)
            self.log(f"{rec.name} restarted (attempt {restart.attempts}, after {delay:.1f}s)")

    def _remove_one_off(self, rec: ContainerRecord) -> None:
        try:
            lifecycle.remove(self.ctx, rec, timeout=0, anonymous="delete")  # as run --rm in the foreground
        except PystackError as exc:
            self.log(f"{rec.name}: removal after exit failed: {exc}")
            return
        self.log(f"{rec.name} removed after it exited (run --rm)")

    def _still_ours(self, cid: str, run_started: float | None) -> str:
        """Whether the run this watcher saw end is still the supervisor's to restart.

        "gone": removed, or stopped by a user (desired is not running); "restarted": a command
        started a new run meanwhile (watch that one); "ours": apply the restart policy."""
        rec = self._q(cstate.get, cid)
        if rec is None:
            return "gone"
        if rec.started_at != run_started:
            return "restarted"
        return "ours" if rec.desired == "running" else "gone"

    def _health_loop(self, cid: str, info: RunInfo, watch: Watch, run_over: threading.Event) -> None:
        """Probes on the check's intervals for one run of the container; ends with the run."""
        assert info.healthcheck is not None
        cfg = info.healthcheck
        state = HealthState()
        while True:
            rec = self._q(cstate.get, cid)
            if rec is None:
                return
            since = time.time() - (rec.started_at or time.time())
            if run_over.wait(state.next_interval(cfg, since)) or watch.cancelled.is_set():
                return
            rec = self._q(cstate.get, cid)
            if rec is None:
                return
            before = rec.health
            try:
                status = health.probe(self.ctx, rec, cfg, state)
            except Exception as exc:  # logged; the next interval probes again (never a dead checker)
                self.log(f"{rec.name}: health check failed to run: {type(exc).__name__}: {exc}")
                continue
            if run_over.is_set():
                return  # the run ended during the probe: its result belongs to no run
            if status != before:
                self._q(cstate.add_event, self.project, f"health_status: {status}", service=rec.service,
                                 container=rec.name, container_id=rec.id)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pystack-supervisor")
    ap.add_argument("--root", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--host-netns", default=None)
    args = ap.parse_args(argv)
    # before any thread exists, so that every thread inherits the mask and only run() takes them
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    paths = Paths(Path(args.root))
    run_dir = paths.stack_run(args.project)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = open(run_dir / "supervisor.lock", "w")  # noqa: SIM115 (held for the process's life)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another supervisor already watches this stack
    (run_dir / "supervisor.pid").write_text(str(os.getpid()))
    try:
        Supervisor(Context(paths, host_netns=args.host_netns), args.project).run()
    finally:
        with contextlib.suppress(FileNotFoundError):
            (run_dir / "supervisor.pid").unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
