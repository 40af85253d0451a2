"""Fixtures for the real-kernel cgroup tests: a fresh ``pystack-cgtest/<uuid8>`` per test, checked gone after."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator.cgroups import Cgroup, open_cgroup
from orchestrator.cgroups.mode import layout

CG_ROOT = Path("/sys/fs/cgroup")
PARENT = "pystack-cgtest"


def hierarchy_roots() -> list[Path]:
    found = layout(CG_ROOT)
    roots = list(dict.fromkeys(found.v1.values()))
    if found.unified is not None:
        roots.append(found.unified)
    return roots


def leftovers(name: str) -> list[Path]:
    """Every directory called ``name`` under our parent in any hierarchy."""
    return [r / PARENT / name for r in hierarchy_roots() if (r / PARENT / name).exists()]


def prune_parent() -> None:
    for r in hierarchy_roots():
        # gone already, or another test's cgroup is still in it
        with contextlib.suppress(OSError):
            os.rmdir(r / PARENT)


@pytest.fixture
def cg_path() -> Iterator[str]:
    name = uuid.uuid4().hex[:8]
    path = f"{PARENT}/{name}"
    try:
        yield path
    finally:
        try:
            open_cgroup(path).destroy()
        finally:
            prune_parent()
        assert leftovers(name) == [], f"cgroup dirs left behind: {leftovers(name)}"


@pytest.fixture
def cg(cg_path: str) -> Cgroup:
    group = open_cgroup(cg_path)
    group.create()
    return group


@pytest.fixture
def spawn(cg: Cgroup) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``python -c CODE`` as a plain host process already in ``cg`` (fork, add_process, exec)."""
    started: list[subprocess.Popen[str]] = []

    def start(code: str, **kw: object) -> subprocess.Popen[str]:
        proc = subprocess.Popen(  # preexec_fn is the fork→exec gap we need
            [sys.executable, "-c", code],
            preexec_fn=lambda: cg.add_process(os.getpid()),
            stdout=subprocess.PIPE,
            text=True,
            **kw,  # type: ignore[call-overload]
        )
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        try:
            cg.destroy()  # thaws and kills: a frozen v1 task would not even die of SIGKILL
        finally:
            for p in started:
                if p.poll() is None:
                    p.kill()
                p.wait(timeout=10)
                if p.stdout is not None:
                    p.stdout.close()
