"""The reference 5-service stack: up (with and without the health gate), an up with nothing to do, and
down with the default grace period and with ``-t 0``.

A repetition is, for each tool in turn: up stack5-nogate (timed until the command returned and
http://127.0.0.1:8080/ answers; then all 5 must run) → up again (nothing to do) → down -t 0 → up stack5
(api gated on db healthy); then the tools' downs with the default grace period (busybox PID 1s ignore
SIGTERM) run at the same time, since they mostly wait (pystack's ports are on the host, the peers' in
their own namespaces, so nothing collides). The warm-up is the first three steps. A figure under
100 ms gets 10 counted runs: the up with nothing to do then gets repetitions of its own (up, the
counted up, down -t 0) after the full ones, rather than doubling the group's time in grace periods.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
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
                       {"peer": "docker-compose", "factor": 0.2}, GROUP,
                       note="the issue compares with docker-compose only; podman-compose is skipped here "
                            "(it recreates the stack, ~12 s)"),
    }


SKIP = {("gated", "podman-compose"), ("noop", "podman-compose")}


def _series(figs: dict[str, Figure], key: str, tool: str) -> list[Series]:
    if (key, tool) in SKIP:
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


def cycle(tool: StackTool, ctx: Context, figs: dict[str, Figure], counted: bool) -> bool:
    """The sequential part of a repetition for one tool; True when its gated stack is left up for the
    default-grace ``down`` (which all tools then run at the same time)."""
    nogate, gated = ctx.fixture("stack5-nogate.yaml"), ctx.fixture("stack5.yaml")

    def rec(key: str, fn: Callable[[], float]) -> bool:
        out: list[float] = []
        ok = attempt(_series(figs, key, tool.name) if counted else [Series()], lambda: out.append(fn()))
        if ok and counted:
            for s in _series(figs, key, tool.name):
                s.add(out[0])
        return ok

    def fail(keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            for s in _series(figs, key, tool.name) if counted else []:
                s.fail(why)

    if tool.name == "pystack" and netns.port_in_use(PORT):
        fail(("up", "noop", "down0", "gated", "down"),
             f"127.0.0.1:{PORT} is in use (another process, or a container a failed down left); not measured")
        return False
    if rec("up", lambda: up_until_answered(tool, nogate, PROJECT)):
        if (("noop", tool.name)) not in SKIP:
            rec("noop", lambda: _noop(tool, nogate))
        if not rec("down0", lambda: _down(tool, nogate, "-t", "0")):
            clean(tool, nogate)
    else:
        fail(("noop", "down0"), "not measured: the up before it failed")
        clean(tool, nogate)
    forget(tool)
    settle()
    if not counted:
        return False
    if rec("gated", lambda: up_until_answered(tool, gated, PROJECT)):
        return True
    fail(("down",), "not measured: the up before it failed")
    clean(tool, gated)
    forget(tool)
    return False


def noop_cycle(tool: StackTool, ctx: Context, figs: dict[str, Figure]) -> None:
    """A top-up repetition of the no-op figure only (see Context.top_up): up, the counted up with
    nothing to do, down -t 0; only the middle one is recorded."""
    nogate = ctx.fixture("stack5-nogate.yaml")
    series = _series(figs, "noop", tool.name)
    if tool.name == "pystack" and netns.port_in_use(PORT):
        for s in series:
            s.fail(f"127.0.0.1:{PORT} is in use (another process, or a container a failed down left); not measured")
        return
    try:
        if attempt([Series()], lambda: up_until_answered(tool, nogate, PROJECT)):
            out: list[float] = []
            if attempt(series, lambda: out.append(_noop(tool, nogate))):
                for s in series:
                    s.add(out[0])
        else:
            for s in series:
                s.fail("not measured: the up before it failed")
    finally:
        clean(tool, nogate)
        settle()


def clean(tool: StackTool, stack: Path) -> None:
    tool.down(stack, PROJECT, "-t", "0", timeout=120)
    forget(tool)


def forget(tool: StackTool) -> None:
    if isinstance(tool, ComposeStacks):
        tool.forget_network(PROJECT)


def downs_together(tools: list[StackTool], ctx: Context, figs: dict[str, Figure]) -> None:
    """``down`` with the default grace period of every tool's gated stack, all at the same time: each
    mostly waits out grace periods, so running them together costs the slowest one, not their sum."""
    gated = ctx.fixture("stack5.yaml")
    results: dict[str, float | str] = {}

    def one(tool: StackTool) -> None:
        try:
            results[tool.name] = _down(tool, gated)
        except Failed as exc:
            results[tool.name] = str(exc)
        except Exception as exc:
            results[tool.name] = f"{exc.__class__.__name__}: {exc}"

    threads = [threading.Thread(target=one, args=(t,)) for t in tools]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tool in tools:
        got = results.get(tool.name, "no result")
        series = figs["down"].series(tool.name)
        if isinstance(got, float):
            series.add(got)
        else:
            series.fail(got)
            clean(tool, gated)
        forget(tool)
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
            if (key, name) not in SKIP:
                fig.series(name).unavailable = why
    for name in tools:
        for key, fig in figs.items():
            if (key, name) not in SKIP:
                fig.series(name)
    order = list(tools)
    for _, name in rotations(order, ctx.warmups):
        cycle(tools[name], ctx, figs, counted=False)
    for _, reps in itertools.groupby(rotations(order, ctx.runs()), key=lambda pair: pair[0]):
        up_now = [tools[name] for _, name in reps if cycle(tools[name], ctx, figs, counted=True)]
        downs_together(up_now, ctx, figs)
    noop_tools = [name for name in order if ("noop", name) not in SKIP]
    owed = ctx.top_up([figs["noop"].series(name) for name in noop_tools], 1.0)
    for _, name in rotations(noop_tools, owed, ctx.runs()):
        noop_cycle(tools[name], ctx, figs)
    for name, tool in tools.items():
        tool.down(ctx.fixture("stack5.yaml"), PROJECT, "-v", "-t", "0", timeout=120)
        if isinstance(tool, ComposeStacks):
            tool.forget_network(PROJECT)
            tool.eng.run("volume", "prune", "-f", timeout=60)
        del name
    return list(figs.values())
