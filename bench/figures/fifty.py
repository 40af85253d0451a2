"""50 sleeping containers up and down: as one stack (``scale``) and one by one.

pystack: ``up -d --scale s=50`` of sleepers.yaml then ``down``; one by one: 50 × ``run -d s``, then
``down`` (outside the timing). podman and docker have no stack of their own here: their figure is
50 × ``run -d`` one after another and one ``stop`` + ``rm`` of all 50 (the same series is shown beside
both of pystack's ways). The sleepers' PID 1 traps SIGTERM, so stopping measures the tools, not a grace
period. The warm-up uses 10 containers.
"""

from __future__ import annotations

from bench.cmd import Failed, check
from bench.context import Context
from bench.figures.common import attempt, rotations, settle
from bench.figures.stacktools import PystackStacks
from bench.model import Figure
from bench.stats import Series

GROUP = "50 sleeping containers"
PROJECT = "psbench-50"
N = 50


def _figures(single: int) -> dict[str, Figure]:
    return {
        "stack": Figure(f"{N} sleeping containers up as one stack (scale: {N})", "s", "≤ 1/5 of podman's",
                        {"peer": "podman", "factor": 0.2}, GROUP,
                        note="peers: 50 × `run -d` one after another (podman and docker have no stack here)"),
        "single": Figure(f"{single} sleeping containers up one by one ({single} × run -d)", "s",
                         "≤ 1/5 of podman's", {"peer": "podman", "factor": 0.2}, GROUP,
                         note=None if single == N else f"--quick: {single} containers instead of {N}"),
        "down": Figure(f"{N} sleeping containers down", "s", "≤ 1/5 of podman's",
                       {"peer": "podman", "factor": 0.2}, GROUP,
                       note="pystack: `down` of the scaled stack; peers: `stop` + `rm` of all 50 in one "
                            "command each"),
    }


def _sleeper(tag: str) -> list[str]:
    return ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait", tag]


def measure(ctx: Context) -> list[Figure]:
    single_n = 10 if ctx.quick else N
    figs = _figures(single_n)
    stack = ctx.fixture("sleepers.yaml")
    pst = PystackStacks(ctx.pystack)
    tools: list[str] = []
    single_why: str | None = None
    if ctx.wants("pystack"):
        why = ctx.pystack.missing("up", flags=("--scale", "-d")) or ctx.pystack.missing("down") \
            or ctx.pystack.missing("ps", flags=("--format",)) or ctx.pystack.image_ready
        single_why = why or ctx.pystack.missing("run", flags=("--detach",))
        if why:
            for f in figs.values():
                f.pystack.unavailable = why
        else:
            tools.append("pystack")
            if single_why:
                figs["single"].pystack.unavailable = single_why
    for name in ("podman", "docker"):
        if name in ctx.engines:
            tools.append(name)
        elif ctx.wants(name) and name in ctx.missing:
            for f in figs.values():
                f.peer(name).unavailable = ctx.missing[name]

    def pystack_rep(n: int, single: int, counted: bool) -> None:
        tag = "psbench-50-pystack"

        def series(key: str) -> list[Series]:
            return [figs[key].pystack] if counted else []

        def up() -> float:
            res = check(pst.up(stack, PROJECT, "--scale", f"s={n}", tag=tag, timeout=300))
            running = pst.running(stack, PROJECT)
            if running != n:
                raise Failed(f"pystack: {running} of {n} running after up --scale s={n}")
            return res.seconds

        def down() -> float:
            res = check(pst.down(stack, PROJECT, timeout=300))
            left = pst.existing(stack, PROJECT)
            if left:
                raise Failed(f"pystack: {left} containers still exist after down")
            return res.seconds

        def one_by_one() -> float:
            total = 0.0
            for _ in range(single):
                total += check(ctx.pystack.stack(stack, PROJECT, "run", "-d", "s", timeout=120,
                                                 env={"BENCH_IMAGE": ctx.pystack.image, "BENCH_TAG": tag})).seconds
            running = pst.running(stack, PROJECT)
            if running != single:
                raise Failed(f"pystack: {running} of {single} running after {single} × run -d")
            return total

        for key, fn in (("stack", up), ("down", down)):
            out: list[float] = []
            if not attempt(series(key), lambda fn=fn, out=out: out.append(fn())):
                pst.down(stack, PROJECT, "-t", "0", timeout=300)
                if key == "stack":
                    for s in series("down"):
                        s.fail("not measured: the up before it failed")
                    break
            elif counted:
                figs[key].pystack.add(out[0])
        settle()
        if single_why is None:
            out = []
            if attempt(series("single"), lambda: out.append(one_by_one())) and counted:
                figs["single"].pystack.add(out[0])
            pst.down(stack, PROJECT, "-t", "0", timeout=300)
            settle()

    def peer_rep(tool: str, n: int, single: int, counted: bool) -> None:
        eng = ctx.engines[tool]
        names = [f"psbench-50-{i}" for i in range(n)]

        def up(names: list[str] = names) -> float:
            n = len(names)
            total = 0.0
            for name in names:
                total += check(eng.run("run", "-d", "--name", name, eng.image, *_sleeper(f"psbench-50-{tool}"),
                                       timeout=120)).seconds
            res = eng.run("ps", "-q", "--filter", "name=psbench-50-", "--filter", "status=running", timeout=60)
            if len(res.out.split()) != n:
                raise Failed(f"{tool}: {len(res.out.split())} of {n} running after {n} × run -d")
            return total

        def down() -> float:
            t = check(eng.run("stop", *names, timeout=300)).seconds
            t += check(eng.run("rm", *names, timeout=300)).seconds
            return t

        up_series = [figs["stack"].peer(tool)] if counted else []
        if single == n and counted:
            up_series.append(figs["single"].peer(tool))
        out: list[float] = []
        if attempt(up_series, lambda: out.append(up())):
            for s in up_series:
                s.add(out[0])
            out = []
            down_series = [figs["down"].peer(tool)] if counted else []
            if attempt(down_series, lambda: out.append(down())) and counted:
                figs["down"].peer(tool).add(out[0])
        elif counted:
            figs["down"].peer(tool).fail("not measured: the up before it failed")
        eng.remove_all()
        settle()
        if single != n:
            out = []
            single_series = [figs["single"].peer(tool)] if counted else []
            if attempt(single_series, lambda: out.append(up(names[:single]))) and counted:
                figs["single"].peer(tool).add(out[0])
            eng.remove_all()
            settle()

    def rep(tool: str, n: int, single: int, counted: bool) -> None:
        if tool == "pystack":
            pystack_rep(n, single, counted)
        else:
            peer_rep(tool, n, single, counted)

    for _, tool in rotations(tools, ctx.warmups):
        rep(tool, 10, 10, False)
    for _, tool in rotations(tools, ctx.runs()):
        rep(tool, N, single_n, True)
    if "pystack" in tools:
        pst.down(stack, PROJECT, "-v", "-t", "0", timeout=300)
    return list(figs.values())
