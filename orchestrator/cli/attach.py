"""Foreground output: every service's log, prefixed and aligned, following restarts and recreates."""

from __future__ import annotations

import time
from pathlib import Path

from orchestrator.reconcile.context import Context
from orchestrator.reconcile.logs import Follower, Printer
from orchestrator.state import containers as cstate

POLL = 0.05


def attach(ctx: Context, project: str, services: list[str], *, colour: bool, prefix: bool,
           abort_on_exit: bool, exit_code_from: str | None) -> int:
    """Print logs until Ctrl-C (returns 130), or until a container exits when asked to abort on it."""
    followers: dict[str, tuple[str, Follower]] = {}
    printer = Printer([], colour=None if colour else False, prefix=prefix)
    try:
        while True:
            recs = [r for r in cstate.for_project(ctx.db(), project, include_one_off=False) if r.service in services]
            for r in recs:
                if r.id not in followers:
                    label = f"{r.service}-{r.number}" if not r.name.endswith(f"-{r.number}") else r.name.removeprefix(
                        f"{project}-")
                    printer.add_name(label)
                    followers[r.id] = (label, Follower(ctx.paths.container(r.id) / "log.json"))
            for label, f in followers.values():
                for rec in f.poll():
                    printer.write(label, rec)
            if abort_on_exit or exit_code_from:
                done = [r for r in recs if r.status == "exited" and r.desired == "running"
                        and _settled(ctx, r.id)]
                if exit_code_from:
                    target = [r for r in done if r.service == exit_code_from]
                    if target:
                        return int(target[0].exit_code or 0)
                elif done:
                    return int(done[0].exit_code or 0)
            time.sleep(POLL)
    except KeyboardInterrupt:
        return 130


def _settled(ctx: Context, cid: str) -> bool:
    rec = cstate.get(ctx.db(), cid)
    return rec is not None and rec.status == "exited" and Path(ctx.paths.container(cid)).exists()
