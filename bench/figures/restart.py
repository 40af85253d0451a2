"""kill -9 of a ``restart: always`` container's PID 1 → running again.

Every tool gets a fresh container for every run (so each kill is a first restart: no back-off has
built up yet): pystack from a one-service stack with ``restart: always``, podman and docker with
``run -d --restart always``. The container's command line carries a per-tool tag; the bench finds its
PID 1 in /proc, sends SIGKILL, and polls /proc (only PIDs that did not exist before the kill, every
2 ms) until the restarted PID 1 has exec'd the same command. Only then, outside the timing, the
tool's own state (``ps`` / ``inspect``) must say running.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from bench import procs
from bench.cmd import Failed, check
from bench.context import Context
from bench.figures.common import attempt, rotations, settle, wait_for
from bench.figures.stacktools import PystackStacks
from bench.model import Figure

GROUP = "Restart policy"
PROJECT = "psbench-kill"
NAME = "psbench-kill"
SCRIPT = "while true; do sleep 1; done"


def _tag(tool: str) -> str:
    return f"psbench-kill-{tool}"


def find_init(tag: str, known: frozenset[str] = frozenset()) -> int | None:
    """The PID of a process running ``sh -c SCRIPT TAG`` (the container's PID 1), or None; ``known``
    /proc entries (those that existed before the kill) are skipped, so polling reads only new ones."""
    want = ["-c", SCRIPT, tag]
    for entry in os.listdir("/proc"):
        if entry in known or not entry.isdigit():
            continue
        pid = int(entry)
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if len(args) == 4 and args[0].endswith("sh") and args[1:] == want:
            p = procs.proc(pid)
            if p is not None and p.state != "Z" and not p.in_host_pidns:
                return pid
    return None


def _pids() -> frozenset[str]:
    return frozenset(e for e in os.listdir("/proc") if e.isdigit())


def measure(ctx: Context) -> list[Figure]:
    fig = Figure("kill -9 of a restart: always container's PID 1 → running again", "s", "≤ podman's median",
                 {"peer": "podman", "factor": 1.0}, GROUP,
                 note="a fresh container per run (a first restart); detected in /proc when the new PID 1 "
                      "has exec'd, then confirmed with the tool's ps/inspect outside the timing.")
    stack = ctx.fixture("restart.yaml")
    tools: list[str] = []
    pst = PystackStacks(ctx.pystack)
    if ctx.wants("pystack"):
        why = ctx.pystack.missing("up", flags=("-d",)) or ctx.pystack.missing("ps", flags=("--format",)) \
            or ctx.pystack.image_ready
        if why:
            fig.pystack.unavailable = why
        else:
            tools.append("pystack")
    for name in ("podman", "docker"):
        if name in ctx.engines:
            tools.append(name)
            fig.peer(name)
        elif ctx.wants(name) and name in ctx.missing:
            fig.peer(name).unavailable = ctx.missing[name]

    def start(tool: str) -> None:
        if tool == "pystack":
            check(pst.up(stack, PROJECT, tag=_tag(tool), timeout=120))
        else:
            eng = ctx.engines[tool]
            check(eng.run("run", "-d", "--restart", "always", "--name", NAME, eng.image,
                          "sh", "-c", SCRIPT, _tag(tool), timeout=120))

    def stop(tool: str) -> None:
        if tool == "pystack":
            pst.down(stack, PROJECT, "-t", "0", timeout=120)
        else:
            ctx.engines[tool].force_remove(NAME, timeout=120)

    def running(tool: str) -> bool:
        if tool == "pystack":
            return pst.running(stack, PROJECT) == 1
        res = ctx.engines[tool].run("inspect", "-f", "{{.State.Running}}", NAME, timeout=60)
        return res.ok and res.out.strip() == "true"

    def one(tool: str) -> float:
        start(tool)
        try:
            old = 0
            deadline = time.monotonic() + 30
            while not old and time.monotonic() < deadline:
                old = find_init(_tag(tool)) or 0
                time.sleep(0.02)
            if not old:
                raise Failed(f"{tool}: the container's PID 1 never appeared")
            time.sleep(0.5)
            known = _pids()
            os.kill(old, signal.SIGKILL)
            t0 = time.perf_counter()
            new = 0
            deadline = t0 + 30
            while time.perf_counter() < deadline:
                new = find_init(_tag(tool), known) or 0
                if new:
                    break
                time.sleep(0.002)
            elapsed = time.perf_counter() - t0
            if not new:
                raise Failed(f"{tool}: not running again within 30 s of kill -9")
            if not wait_for(lambda: running(tool), 10, 0.1):
                raise Failed(f"{tool}: a new PID 1 runs but the tool does not report the container running")
            return elapsed
        finally:
            stop(tool)
            settle()

    for _, tool in rotations(tools, ctx.warmups):
        attempt([], lambda tool=tool: one(tool))
    def counted(reps: int, first: int) -> None:
        for _, tool in rotations(tools, reps, first):
            out: list[float] = []
            if attempt([fig.series(tool)], lambda tool=tool, out=out: out.append(one(tool))):
                fig.series(tool).add(out[0])

    counted(ctx.runs(), 0)
    counted(ctx.top_up([fig.series(t) for t in tools], 1.0), ctx.runs())
    return [fig]
