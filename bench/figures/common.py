"""Repetition with tools alternated, and recording a run's outcome without dropping failures."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator

from bench import procs
from bench.cmd import Failed
from bench.stats import Series


def rotations(tools: list[str], reps: int, first: int = 0) -> Iterator[tuple[int, str]]:
    """(rep, tool) pairs: every repetition runs each tool once, starting with a different one each time,
    so that drift on a shared machine hits all of them alike. *first* numbers the first repetition (a
    top-up goes on where the counted runs stopped)."""
    if not tools:
        return
    for rep in range(first, first + reps):
        k = rep % len(tools)
        for tool in tools[k:] + tools[:k]:
            yield rep, tool


def attempt(series: list[Series], step: Callable[[], object]) -> bool:
    """Runs one measured step; on failure every series it would have fed records the failure."""
    try:
        step()
        return True
    except Failed as exc:
        why = str(exc)
    except Exception as exc:  # a bench bug or an unexpected tool answer: reported, not fatal
        why = f"{exc.__class__.__name__}: {exc} @ {traceback.extract_tb(exc.__traceback__)[-1].lineno}"
    for s in series:
        s.fail(why)
    return False


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def settle() -> None:
    """Between runs: collect orphans and let the machine's page cache and reaping catch up briefly."""
    procs.reap_orphans()
    time.sleep(0.05)
