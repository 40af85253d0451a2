"""The per-stack supervisor left behind by ``up -d``: restart policies and health checks, without a daemon.

One process per stack watches every container of it. It waits on each container's PID 1 with a
pidfd (no polling: an idle stack costs no CPU), applies the restart policy with Docker's back-off
when a process exits, runs health checks on their intervals, and re-reads the state when a
command tells it to over its unix socket. It owns no container: ``kill -9`` of it loses nothing,
and the next command starts a new one that adopts what runs.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

from orchestrator.errors import PystackError
from orchestrator.paths import Paths
from orchestrator.reconcile import health, lifecycle
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.desired import RunInfo
from orchestrator.reconcile.health_state import HealthState
from orchestrator.reconcile.policy import RestartState, next_delay, should_restart
from orchestrator.state import containers as cstate


class Supervisor:
    def __init__(self, ctx: Context, project: str) -> None:
        self.ctx = ctx
        self.project = project
        self.watched: dict[str, anyio.CancelScope] = {}
        self.stop = anyio.Event()
        self.tg: anyio.abc.TaskGroup | None = None

    def log(self, msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)

    async def run(self) -> None:
        sock_path = self.ctx.paths.supervisor_socket(self.project)
        with contextlib.suppress(FileNotFoundError):
            sock_path.unlink()
        listener = await anyio.create_unix_listener(sock_path)
        async with anyio.create_task_group() as tg:
            self.tg = tg
            tg.start_soon(self._serve, listener)
            self.reload()
            await self.stop.wait()
            tg.cancel_scope.cancel()
        with contextlib.suppress(FileNotFoundError):
            sock_path.unlink()

    def reload(self) -> None:
        assert self.tg is not None
        recs = {r.id: r for r in cstate.for_project(self.ctx.db(), self.project)}
        for cid in list(self.watched):
            if cid not in recs:
                self.watched.pop(cid).cancel()
        for cid, rec in recs.items():
            if cid not in self.watched and not rec.one_off and rec.status not in ("creating", "removing"):
                scope = anyio.CancelScope()
                self.watched[cid] = scope
                self.tg.start_soon(self._watch, cid, scope)

    def exit_now(self) -> None:
        """Leave at once: the supervisor owns no container and every change it made is committed,
        so there is nothing to wind down, and waiting for probe threads would only slow ``down``."""
        run_dir = self.ctx.paths.stack_run(self.project)
        for name in ("supervisor.pid", "supervisor.sock"):
            with contextlib.suppress(FileNotFoundError):
                (run_dir / name).unlink()
        os._exit(0)

    async def _serve(self, listener: anyio.abc.SocketListener) -> None:
        async def handle(stream: anyio.abc.SocketStream) -> None:
            async with stream:
                with contextlib.suppress(Exception):
                    data = b""
                    while not data.endswith(b"\n"):
                        data += await stream.receive(65536)
                    msg: dict[str, Any] = json.loads(data)
                    op = msg.get("op")
                    if op == "reload":
                        self.reload()
                    reply = {"ok": True, "op": op, "pid": os.getpid(), "watched": sorted(self.watched)}
                    await stream.send(json.dumps(reply).encode() + b"\n")
                    if op == "shutdown":
                        self.exit_now()

        await listener.serve(handle)

    async def _watch(self, cid: str, scope: anyio.CancelScope) -> None:
        try:
            with scope:
                await self._watch_loop(cid)
        finally:
            if self.watched.get(cid) is scope:
                del self.watched[cid]

    async def _watch_loop(self, cid: str) -> None:
        restart = RestartState()
        while True:
            rec = cstate.get(self.ctx.db(), cid)
            if rec is None:
                return
            info = RunInfo.from_record_spec(rec.spec)
            rt = self.ctx.runtime(info.runtime)
            try:
                st = await anyio.to_thread.run_sync(rt.state, cid)
            except PystackError:
                return
            run_started = rec.started_at
            if st.status in ("running", "paused") and st.pid:
                async with anyio.create_task_group() as tg:
                    if info.healthcheck and not info.healthcheck.disabled:
                        tg.start_soon(self._health_loop, cid, info)
                    await self._wait_exit(st.pid)
                    tg.cancel_scope.cancel()
                status = await anyio.to_thread.run_sync(rt.wait, cid, 5.0)
                code = status.code if status else -1
                changes: dict[str, Any] = {"status": "exited", "finished_at": time.time(), "exit_code": code,
                                           "oom_killed": bool(status and status.oom_killed)}
                if not cstate.update_if_started_at(self.ctx.db(), cid, run_started, **changes):
                    continue  # a command restarted it meanwhile: watch the new run
                self.log(f"{rec.name} exited with {code}")
                cstate.add_event(self.ctx.db(), self.project, "die", service=rec.service, container=rec.name,
                                 detail=f"exit {code}")
            elif st.status == "created":
                return  # created but never started (up --no-start): nothing to supervise yet
            else:  # it exited while nobody watched (before this supervisor, or between two of them)
                status = rt.exit_status(cid)
                code = status.code if status else -1
                if rec.status in ("running", "paused"):
                    cstate.update_if_started_at(self.ctx.db(), cid, run_started, status="exited",
                                                finished_at=status.finished_at if status else time.time(),
                                                exit_code=code, oom_killed=bool(status and status.oom_killed))
            verdict = self._still_ours(cid, run_started)
            if verdict != "ours":
                if verdict == "gone":
                    return
                continue
            ran_for = time.time() - (run_started or time.time())
            if not should_restart(info.restart, code, restart.attempts, stopped_by_user=False):
                return
            delay = next_delay(info.restart, restart, ran_for)
            await anyio.sleep(delay)
            verdict = self._still_ours(cid, run_started)
            if verdict != "ours":
                if verdict == "gone":
                    return
                continue
            rec = cstate.get(self.ctx.db(), cid)
            assert rec is not None
            try:
                await anyio.to_thread.run_sync(lifecycle.start, self.ctx, rec)
            except PystackError as exc:
                self.log(f"{rec.name}: restart failed: {exc}")
                continue
            cstate.update(self.ctx.db(), cid, restart_count=rec.restart_count + 1)
            cstate.add_event(self.ctx.db(), self.project, "restart", service=rec.service, container=rec.name)
            self.log(f"{rec.name} restarted (attempt {restart.attempts}, after {delay:.1f}s)")

    def _still_ours(self, cid: str, run_started: float | None) -> str:
        """Whether the run this watcher saw end is still the supervisor's to restart.

        "gone": removed, or stopped by a user (desired is not running); "restarted": a command
        started a new run meanwhile (watch that one); "ours": apply the restart policy."""
        rec = cstate.get(self.ctx.db(), cid)
        if rec is None:
            return "gone"
        if rec.started_at != run_started:
            return "restarted"
        return "ours" if rec.desired == "running" else "gone"

    async def _wait_exit(self, pid: int) -> None:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        try:
            await anyio.wait_readable(fd)
        finally:
            os.close(fd)

    async def _health_loop(self, cid: str, info: RunInfo) -> None:
        assert info.healthcheck is not None
        cfg = info.healthcheck
        state = HealthState()
        while True:
            rec = cstate.get(self.ctx.db(), cid)
            if rec is None:
                return
            since = time.time() - (rec.started_at or time.time())
            await anyio.sleep(state.next_interval(cfg, since))
            rec = cstate.get(self.ctx.db(), cid)
            if rec is None:
                return
            before = rec.health
            status = await health.probe_once(self.ctx, rec, cfg, state)
            if status != before:
                cstate.add_event(self.ctx.db(), self.project, f"health_status: {status}", service=rec.service,
                                 container=rec.name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pystack-supervisor")
    ap.add_argument("--root", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--host-netns", default=None)
    args = ap.parse_args(argv)
    paths = Paths(Path(args.root))
    run_dir = paths.stack_run(args.project)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = open(run_dir / "supervisor.lock", "w")  # noqa: SIM115 (held for the process's life)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another supervisor already watches this stack
    (run_dir / "supervisor.pid").write_text(str(os.getpid()))
    ctx = Context(paths, host_netns=args.host_netns)
    sup = Supervisor(ctx, args.project)

    async def runner() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with anyio.create_task_group() as tg:
                async def on_signal() -> None:
                    async for _ in signals:
                        sup.stop.set()
                        return

                tg.start_soon(on_signal)
                await sup.run()
                tg.cancel_scope.cancel()

    try:
        anyio.run(runner)
    finally:
        with contextlib.suppress(FileNotFoundError):
            (run_dir / "supervisor.pid").unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
