"""`run --rm` of /bin/true through each tool's full command line, in a container with a network.

pystack: ``pystack -f one.yaml -p psbench-cli run --rm t /bin/true`` (Compose's ``run`` takes a service;
the service sits on the stack's default network). podman and docker: ``run --rm IMAGE /bin/true`` on
their default bridge network.
"""

from __future__ import annotations

from bench import cmd
from bench.cmd import Result
from bench.context import Context
from bench.figures.common import attempt, rotations, settle
from bench.model import Figure

GROUP = "Full command line: one container"
PROJECT = "psbench-cli"


def measure(ctx: Context) -> list[Figure]:
    fig = Figure("run --rm /bin/true with a network, full CLI", "ms", "≤ 1/5 of podman's",
                 {"peer": "podman", "factor": 0.2}, GROUP)
    stack = ctx.fixture("one.yaml")
    env = {"BENCH_IMAGE": ctx.pystack.image}
    tools: list[str] = []
    if ctx.wants("pystack"):
        why = ctx.pystack.missing("run", flags=("--rm",)) or ctx.pystack.image_ready
        if why:
            fig.pystack.unavailable = why
        else:
            tools.append("pystack")
    for name in ("podman", "docker"):
        if name in ctx.engines:
            tools.append(name)
            fig.peer(name)
        elif name in ctx.missing and ctx.wants(name):
            fig.peer(name).unavailable = ctx.missing[name]

    def once(tool: str) -> Result:
        if tool == "pystack":
            return ctx.pystack.stack(stack, PROJECT, "run", "--rm", "t", "/bin/true", timeout=120, env=env)
        eng = ctx.engines[tool]
        return eng.run("run", "--rm", eng.image, "/bin/true", timeout=120)

    warm: dict[str, float] = {}
    for _, tool in rotations(tools, ctx.warmups):
        res = once(tool)
        warm[tool] = res.seconds if res.ok else 1.0
    runs = ctx.runs(fast=bool(warm) and min(warm.values()) < 0.1)
    for _, tool in rotations(tools, runs):
        series = fig.series(tool)
        res = once(tool)
        if attempt([series], lambda res=res: cmd.check(res)):
            series.add(res.seconds * 1000)
        settle()
    if "pystack" in tools:
        down = ctx.pystack.stack(stack, PROJECT, "down", "-t", "0", timeout=120, env=env)
        if not down.ok:
            fig.pystack.fail(f"clean-up: {down.why()}")
    for name in ("podman", "docker"):
        if name in tools:
            ctx.engines[name].remove_all()
    return [fig]
