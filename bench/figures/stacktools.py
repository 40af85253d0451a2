"""The three stack tools behind one small interface: pystack, docker-compose, podman-compose.

Each brings a stack file up and down under a project name and says how many of the project's containers
run; ``netns`` is where its published ports answer (the host for pystack, the peer's private namespace
otherwise).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import cmd
from bench.cmd import Result
from bench.context import Context
from bench.peers import Engine
from bench.pystack_tool import Pystack


class StackTool:
    name: str
    netns: Path | None = None

    def up(self, stack: Path, project: str, *args: str, tag: str = "", timeout: float = 300) -> Result:
        raise NotImplementedError

    def down(self, stack: Path, project: str, *args: str, timeout: float = 300) -> Result:
        raise NotImplementedError

    def running(self, stack: Path, project: str) -> int:
        raise NotImplementedError

    def existing(self, stack: Path, project: str) -> int:
        raise NotImplementedError


class PystackStacks(StackTool):
    def __init__(self, ps: Pystack) -> None:
        self.name = "pystack"
        self.ps = ps

    def _env(self, tag: str) -> dict[str, str]:
        env = {"BENCH_IMAGE": self.ps.image}
        if tag:
            env["BENCH_TAG"] = tag
        return env

    def up(self, stack: Path, project: str, *args: str, tag: str = "", timeout: float = 300) -> Result:
        return self.ps.stack(stack, project, "up", "-d", *args, timeout=timeout, env=self._env(tag))

    def down(self, stack: Path, project: str, *args: str, timeout: float = 300) -> Result:
        return self.ps.stack(stack, project, "down", *args, timeout=timeout, env=self._env(""))

    def _ps(self, stack: Path, project: str, *args: str) -> list[dict[str, object]]:
        res = self.ps.stack(stack, project, "ps", "--format", "json", *args, timeout=60, env=self._env(""))
        if not res.ok:
            raise cmd.Failed(res.why())
        # JSON Lines (pystack, Compose since v2.21); an array from older tools
        rows: list[object] = []
        for line in res.out.splitlines():
            if line.strip():
                doc = json.loads(line)
                rows.extend(doc if isinstance(doc, list) else [doc])
        return [r for r in rows if isinstance(r, dict)]

    def running(self, stack: Path, project: str) -> int:
        rows = self._ps(stack, project)
        return sum(1 for r in rows if str(r.get("State", r.get("state", ""))).lower() == "running")

    def existing(self, stack: Path, project: str) -> int:
        return len(self._ps(stack, project, "-a"))


class ComposeStacks(StackTool):
    def __init__(self, eng: Engine) -> None:
        assert eng.compose is not None
        self.name = eng.compose_tool
        self.eng = eng
        self.netns = eng.netns

    def _run(self, stack: Path, project: str, args: list[str], tag: str, timeout: float) -> Result:
        env = dict(self.eng.env)
        env["BENCH_IMAGE"] = self.eng.image
        if tag:
            env["BENCH_TAG"] = tag
        assert self.eng.compose is not None
        return cmd.run([*self.eng.compose, "-f", str(stack), "-p", project, *args], env=env, timeout=timeout)

    def up(self, stack: Path, project: str, *args: str, tag: str = "", timeout: float = 300) -> Result:
        return self._run(stack, project, ["up", "-d", *args], tag, timeout)

    def down(self, stack: Path, project: str, *args: str, timeout: float = 300) -> Result:
        res = self._run(stack, project, ["down", *args], "", timeout)
        return res

    def running(self, stack: Path, project: str) -> int:
        return self.eng.running_in_project(project)

    def existing(self, stack: Path, project: str) -> int:
        return self.eng.in_project(project)

    def forget_network(self, project: str) -> None:
        """podman-compose leaves the project network behind on ``down``: removed outside the timing."""
        if self.name == "podman-compose":
            self.eng.run("network", "rm", "-f", f"{project}_default", timeout=60)


def stack_tools(ctx: Context) -> tuple[dict[str, StackTool], dict[str, str]]:
    """(usable tools by name, unavailable ones with the reason), honouring --only."""
    tools: dict[str, StackTool] = {}
    unavailable: dict[str, str] = {}
    if ctx.wants("pystack"):
        why = ctx.pystack.missing("up", flags=("-d",)) or ctx.pystack.missing("down") \
            or ctx.pystack.missing("ps", flags=("--format",)) or ctx.pystack.image_ready
        if why:
            unavailable["pystack"] = why
        else:
            tools["pystack"] = PystackStacks(ctx.pystack)
    for name in ("docker-compose", "podman-compose"):
        if name in ctx.composes:
            tools[name] = ComposeStacks(ctx.composes[name])
        elif ctx.wants(name) and name in ctx.missing:
            unavailable[name] = ctx.missing[name]
    return tools, unavailable
