"""Running a tool's command, timed from just before the fork to just after the exit is collected."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    argv: list[str]
    rc: int
    out: str
    err: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def why(self) -> str:
        """One line saying how the command failed, for the report."""
        tail = (self.err.strip() or self.out.strip()).splitlines()
        last = tail[-1] if tail else ""
        return f"`{short_argv(self.argv)}` exit {self.rc}: {last[:240]}"


def short_argv(argv: list[str]) -> str:
    """A command fit for one report line: program names and paths by their last component, the
    ``--root DIR`` of the bench's private state left out."""
    words: list[str] = []
    skip = False
    for i, word in enumerate(argv):
        if skip:
            skip = False
            continue
        if word == "--root" and i + 1 < len(argv):
            skip = True
            continue
        if i == 0 and "python" in word.rsplit("/", 1)[-1] and len(argv) > 1:
            continue
        words.append(word.rsplit("/", 1)[-1] if word.startswith("/") else word)
    return " ".join(words)[:160]


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 300,
        cwd: str | None = None) -> Result:
    full_env = None
    if env is not None:
        full_env = dict(os.environ)
        full_env.update(env)
    t0 = time.perf_counter()
    try:
        res = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout,
                             cwd=cwd, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        dt = time.perf_counter() - t0
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Result(argv, -9, out, f"timed out after {timeout:.0f} s", dt)
    except OSError as exc:
        return Result(argv, 127, "", str(exc), time.perf_counter() - t0)
    return Result(argv, res.returncode, res.stdout, res.stderr, time.perf_counter() - t0)


class Failed(Exception):
    """A measured step failed; the message is one line for the report."""


def check(res: Result) -> Result:
    if not res.ok:
        raise Failed(res.why())
    return res
