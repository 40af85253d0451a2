"""The executor starts items after their dependencies and isolates failures."""

from __future__ import annotations

import threading
import time

import pytest

from orchestrator.reconcile.parallel import run_in_order


def test_order_parallelism_and_failure_isolation() -> None:
    log: list[str] = []
    lock = threading.Lock()
    deps = {"api": ["db"], "web": ["api"], "worker": ["cache"], "edge": ["web"]}

    def fn(name: str) -> None:
        with lock:
            log.append(f"start {name}")
        time.sleep(0.05)
        if name == "api":
            raise RuntimeError("api exploded")
        with lock:
            log.append(f"end {name}")

    out = run_in_order(["db", "cache", "api", "web", "worker", "edge"], deps, fn)
    assert out.failed == {"api": "api exploded"}
    assert out.skipped == {"web": "dependency api failed", "edge": "dependency web failed"}
    assert sorted(out.done) == ["cache", "db", "worker"]
    assert log.index("end db") < log.index("start api")
    assert log.index("start cache") < log.index("end db")  # independent items overlap
    assert "start web" not in log and "start edge" not in log


def test_dependencies_outside_the_items_are_not_waited_for() -> None:
    out = run_in_order(["api"], {"api": ["db"]}, lambda name: None)
    assert out.done == ["api"] and out.ok


@pytest.mark.parametrize("limit", [1, 2])
def test_limit_bounds_concurrency(limit: int) -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def fn(name: str) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1

    run_in_order([str(i) for i in range(6)], {}, fn, limit=limit)
    assert peak == limit


def test_an_interrupt_propagates() -> None:
    def fn(name: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_in_order(["a"], {}, fn)
