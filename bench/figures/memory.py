"""Memory each tool keeps per running container, and CPU while 50 containers idle.

All tools hold their containers at the same time (idle sleepers cost nothing, and the CPU windows are
then the same seconds for everyone; they also grow at the same time, before the samples): pystack
``up -d --scale s=20`` then ``s=50``; podman and docker 20 then 50 × ``run -d``. At each size, 5 samples
one second apart of USS and PSS (/proc/PID/smaps_rollup) summed over the tool's own processes and divided
by the number of containers:
- pystack: every process outside the containers that names the bench's pystack root in its command line
  or environment, their descendants, and every host-side ancestor of its containers' PID 1s (monitors,
  supervisor, DNS, port proxies);
- podman: its conmon processes (it has no daemon);
- docker: containerd-shim processes + dockerd + containerd.
CPU: user+system time of the same processes over windows of 10 s (5 s in --quick), in ms per 60 s.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from bench import procs
from bench.cmd import Failed, check
from bench.context import Context
from bench.figures.common import wait_for
from bench.figures.stacktools import PystackStacks
from bench.model import Figure
from bench.pystack_tool import is_pystack_process
from bench.stats import Series

GROUP = "Memory and CPU per container"
PROJECT = "psbench-mem"
SIZES = (20, 50)
PEER_KEYS = {"podman": "conmon", "docker": "docker (shim + dockerd + containerd)"}
CPU_TARGET_MS = 120.0


def tool_processes(ctx: Context, tool: str) -> list[procs.Proc]:
    if tool == "pystack":
        root = ctx.pystack.root
        found = {p.pid: p for p in procs.select(lambda p: p.in_host_pidns
                                                  and is_pystack_process(root, p.cmdline, p.pid))}
        for p in container_keepers(f"psbench-mem-{tool}"):
            found.setdefault(p.pid, p)
        return list(found.values())
    eng = ctx.engines[tool]
    return eng.helper_processes() + eng.daemon_processes()


def container_keepers(tag: str) -> list[procs.Proc]:
    """The host-side processes above the tagged containers' PID 1s (whatever they are called): each
    container's parent chain in the host's PID namespace, up to but not including PID 1 and the bench."""
    table = {p.pid: p for p in procs.scan() if p.state != "Z"}
    me = os.getpid()
    out: dict[int, procs.Proc] = {}
    for p in table.values():
        if p.in_host_pidns or not p.cmdline.endswith(tag):
            continue
        parent = table.get(p.ppid)
        while parent is not None and parent.pid not in (1, me) and parent.pid not in out:
            if parent.in_host_pidns:
                out[parent.pid] = parent
            parent = table.get(parent.ppid)
    return list(out.values())


def memory_kib(plist: list[procs.Proc]) -> tuple[int, int]:
    uss = pss = 0
    for p in plist:
        m = procs.smaps_rollup(p.pid)
        if m is not None:
            uss += m[0]
            pss += m[1]
    return uss, pss


def cpu_total(plist: list[procs.Proc]) -> dict[int, float]:
    out = {}
    for p in plist:
        c = procs.cpu_seconds(p.pid)
        if c is not None:
            out[p.pid] = c
    return out


def _figures() -> dict[str, Figure]:
    figs = {}
    for n in SIZES:
        for kind in ("PSS", "USS"):
            figs[f"{kind}{n}"] = Figure(
                f"memory kept per running container, {kind}, at {n} containers", "MiB",
                "below conmon's PSS" if kind == "PSS" else "below conmon's PSS (USS shown for reference)",
                {"peer": "conmon", "factor": 1.0, "strict": True}, GROUP,
                note="n = samples of one steady state, one second apart")
    figs["cpu"] = Figure("CPU of the tool's processes while 50 containers idle", "ms per 60 s",
                         f"near zero: no polling loops (≤ {CPU_TARGET_MS:.0f} ms per 60 s, 0.2 % of a core)",
                         {"max": CPU_TARGET_MS}, GROUP)
    return figs


def measure(ctx: Context) -> list[Figure]:
    figs = _figures()
    stack = ctx.fixture("sleepers.yaml")
    pst = PystackStacks(ctx.pystack)
    tools: list[str] = []
    if ctx.wants("pystack"):
        why = ctx.pystack.missing("up", flags=("--scale", "-d")) or ctx.pystack.missing("down") \
            or ctx.pystack.missing("ps", flags=("--format",)) or ctx.pystack.image_ready
        if why:
            for f in figs.values():
                f.pystack.unavailable = why
        else:
            tools.append("pystack")
    for name in ("podman", "docker"):
        if name in ctx.engines:
            tools.append(name)
        elif ctx.wants(name) and name in ctx.missing:
            for f in figs.values():
                f.peer(PEER_KEYS[name]).unavailable = ctx.missing[name]

    def series(key: str, tool: str) -> Series:
        return figs[key].pystack if tool == "pystack" else figs[key].peer(PEER_KEYS[tool])

    held: dict[str, int] = {t: 0 for t in tools}
    broken: dict[str, str] = {}

    def grow(tool: str, n: int) -> None:
        tag = f"psbench-mem-{tool}"
        if tool == "pystack":
            check(pst.up(stack, PROJECT, "--scale", f"s={n}", tag=tag, timeout=300))
            if not wait_for(lambda: pst.running(stack, PROJECT) == n, 30, 0.5):
                raise Failed(f"pystack: fewer than {n} running after up --scale s={n}")
        else:
            eng = ctx.engines[tool]

            def one(i: int) -> None:
                check(eng.run("run", "-d", "--name", f"psbench-mem-{i}", eng.image, "sh", "-c",
                              "trap 'exit 0' TERM; sleep 86400 & wait", tag, timeout=120))

            # the peers' containers start four at a time, for the same reason
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(one, range(held[tool], n)))
        held[tool] = n

    def grow_or_break(tool: str, n: int) -> None:
        try:
            grow(tool, n)
        except Failed as exc:
            broken[tool] = str(exc)

    try:
        for n in SIZES:
            # The tools grow at the same time: memory is sampled afterwards, in the steady state, so
            # only the bench's own time depends on it.
            with ThreadPoolExecutor(len(tools) or 1) as pool:
                live = [t for t in tools if t not in broken]
                list(pool.map(grow_or_break, live, [n] * len(live)))
            time.sleep(2)
            for _ in range(5):
                for tool in tools:
                    if tool in broken:
                        continue
                    plist = tool_processes(ctx, tool)
                    if not plist:
                        series(f"PSS{n}", tool).fail(f"{tool}: no process of the tool found")
                        series(f"USS{n}", tool).fail(f"{tool}: no process of the tool found")
                        continue
                    uss, pss = memory_kib(plist)
                    series(f"PSS{n}", tool).add(pss / 1024 / n)
                    series(f"USS{n}", tool).add(uss / 1024 / n)
                time.sleep(1)
        window = 5.0 if ctx.quick else 10.0
        windows = 3 if ctx.quick else 6
        tick = 1000 / procs.CLK_TCK * 60 / window
        if ctx.quick:
            figs["cpu"].note = (f"--quick: {windows} windows of {window:.0f} s instead of 60 s, each scaled to "
                                f"60 s (resolution {tick:.0f} ms per process)")
        else:
            figs["cpu"].note = (f"{windows} windows of {window:.0f} s (60 s in all), each scaled to 60 s "
                                f"(resolution {tick:.0f} ms per process)")
        for _ in range(windows):
            start = {t: cpu_total(tool_processes(ctx, t)) for t in tools if t not in broken}
            time.sleep(window)
            for tool, before in start.items():
                after = cpu_total(tool_processes(ctx, tool))
                used = sum(after[p] - before.get(p, 0.0) for p in after)
                series("cpu", tool).add(used * 1000 * 60 / window)
    finally:
        def clean(tool: str) -> None:
            if tool == "pystack":
                res = pst.down(stack, PROJECT, "-v", timeout=300)
                if not res.ok:
                    figs["cpu"].pystack.fail(f"clean-up: {res.why()}")
            else:
                ctx.engines[tool].remove_all()

        with ThreadPoolExecutor(len(tools) or 1) as pool:  # nothing is measured any more
            list(pool.map(clean, tools))
    for tool, why in broken.items():
        for key in figs:
            series(key, tool).fail(why)
    return list(figs.values())
