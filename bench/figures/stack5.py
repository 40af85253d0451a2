"""The reference 5-service stack: up (with and without the health gate), an up with nothing to do, and
down with the default grace period and with ``-t 0``.

A repetition is, for each tool in turn: up stack5-nogate (timed until the command returned and
http://127.0.0.1:8080/ answers; then all 5 must run) → up again (nothing to do) → down -t 0 → up stack5
(api gated on db healthy) → down with the default grace period (busybox PID 1s ignore SIGTERM). The
warm-up does the same with ``-t 0`` for the last down.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench import netns
from bench.cmd import Failed, Result
from bench.context import Context
from bench.figures.common import attempt, rotations, settle, wait_for
from bench.figures.stacktools import ComposeStacks, StackTool, stack_tools
from bench.model import Figure
from bench.stats import Series

GROUP = "The reference 5-service stack"
PROJECT = "psbench-s5"
PORT = 8080


def _figures() -> dict[str, Figure]:
    return {
        "up": Figure("up -d stack5-nogate until all 5 run and :8080 answers", "s", "≤ 1/5 of docker-compose's",
                     {"peer": "docker-compose", "factor": 0.2}, GROUP),
        "gated": Figure("up -d stack5 (api waits for db healthy, 1 s interval)", "s", "≤ 1/2 of docker-compose's",
                        {"peer": "docker-compose", "factor": 0.5}, GROUP,
                        note="podman-compose ignores the health gate, so it is not compared here."),
        "down": Figure("down stack5, default grace period (PID 1s ignore SIGTERM)", "s",
                       "one grace period in total (≤ 12 s: 10 s plus 2 s)", {"max": 12.0}, GROUP),
        "down0": Figure("down -t 0 stack5", "s", "≤ 1/5 of docker-compose's",
                        {"peer": "docker-compose", "factor": 0.2}, GROUP),
        "noop": Figure("up -d of the unchanged running stack (nothing to do)", "s", "≤ 1/5 of docker-compose's",
                       {"peer": "docker-compose", "factor": 0.2}, GROUP),
    }


def _series(figs: dict[str, Figure], key: str, tool: str) -> list[Series]:
    if key == "gated" and tool == "podman-compose":
        return []
    return [figs[key].series(tool)]


def up_until_answered(tool: StackTool, stack: Path, project: str, timeout: float = 90) -> float:
    """Seconds from launching ``up -d`` until it returned and the published page answers; then checks
    that all 5 services run (outside the timing)."""
    t0 = time.perf_counter()
    res = tool.up(stack, project, timeout=timeout)
    if not res.ok:
        raise Failed(res.why())
    if not wait_for(lambda: netns.http_answers(PORT, tool.netns, timeout=0.2), timeout, interval=0.01):
        raise Failed(f"{tool.name}: http://127.0.0.1:{PORT}/ did not answer within {timeout:.0f} s")
    elapsed = time.perf_counter() - t0
    n = tool.running(stack, project)
    if n != 5:
        raise Failed(f"{tool.name}: {n} of 5 services running after up")
    return elapsed


def timed(res: Result) -> float:
    if not res.ok:
        raise Failed(res.why())
    return res.seconds


def cycle(tool: StackTool, ctx: Context, figs: dict[str, Figure], counted: bool) -> None:
    nogate, gated = ctx.fixture("stack5-nogate.yaml"), ctx.fixture("stack5.yaml")

    def rec(key: str, fn: object) -> bool:
        assert callable(fn)
        out: list[float] = []
        ok = attempt(_series(figs, key, tool.name) if counted else [Series()], lambda: out.append(fn()))
        if ok and counted:
            for s in _series(figs, key, tool.name):
                s.add(out[0])
        return ok

    def clean(stack: Path) -> None:
        tool.down(stack, PROJECT, "-t", "0", timeout=120)
        if isinstance(tool, ComposeStacks):
            tool.forget_network(PROJECT)

    if tool.name == "pystack" and netns.port_in_use(PORT):
        for key in ("up", "noop", "down0", "gated", "down"):
            for s in _series(figs, key, tool.name):
                s.fail(f"127.0.0.1:{PORT} is already in use by another process; not measured")
        return
    if rec("up", lambda: up_until_answered(tool, nogate, PROJECT)):
        if not rec("noop", lambda: _noop(tool, nogate)):
            pass
        if not rec("down0", lambda: _down(tool, nogate, "-t", "0")):
            clean(nogate)
    else:
        for key in ("noop", "down0"):
            for s in _series(figs, key, tool.name) if counted else []:
                s.fail("not measured: the up before it failed")
        clean(nogate)
    if isinstance(tool, ComposeStacks):
        tool.forget_network(PROJECT)
    settle()
    if rec("gated", lambda: up_until_answered(tool, gated, PROJECT)):
        args = () if counted else ("-t", "0")
        if not rec("down", lambda: _down(tool, gated, *args)):
            clean(gated)
    else:
        for s in _series(figs, "down", tool.name) if counted else []:
            s.fail("not measured: the up before it failed")
        clean(gated)
    if isinstance(tool, ComposeStacks):
        tool.forget_network(PROJECT)
    settle()


def _noop(tool: StackTool, stack: Path) -> float:
    dt = timed(tool.up(stack, PROJECT, timeout=120))
    n = tool.running(stack, PROJECT)
    if n != 5:
        raise Failed(f"{tool.name}: {n} of 5 services running after the second up")
    return dt


def _down(tool: StackTool, stack: Path, *args: str) -> float:
    dt = timed(tool.down(stack, PROJECT, *args, timeout=180))
    left = tool.existing(stack, PROJECT)
    if left:
        raise Failed(f"{tool.name}: {left} containers still exist after down")
    return dt


def measure(ctx: Context) -> list[Figure]:
    figs = _figures()
    tools, unavailable = stack_tools(ctx)
    for name, why in unavailable.items():
        for key, fig in figs.items():
            if not (key == "gated" and name == "podman-compose"):
                fig.series(name).unavailable = why
    for name in tools:
        for key, fig in figs.items():
            if not (key == "gated" and name == "podman-compose"):
                fig.series(name)
    order = list(tools)
    for _, name in rotations(order, ctx.warmups):
        cycle(tools[name], ctx, figs, counted=False)
    for _, name in rotations(order, ctx.runs()):
        cycle(tools[name], ctx, figs, counted=True)
    for name, tool in tools.items():
        tool.down(ctx.fixture("stack5.yaml"), PROJECT, "-v", "-t", "0", timeout=120)
        if isinstance(tool, ComposeStacks):
            tool.forget_network(PROJECT)
            tool.eng.run("volume", "prune", "-f", timeout=60)
        del name
    return list(figs.values())
