"""The executor starts items after their dependencies and isolates failures."""

from __future__ import annotations

import anyio
import pytest

from orchestrator.reconcile.parallel import run_in_order


def test_order_parallelism_and_failure_isolation() -> None:
    log: list[str] = []
    deps = {"api": ["db"], "web": ["api"], "worker": ["cache"]}

    async def fn(name: str) -> None:
        log.append(f"start {name}")
        await anyio.sleep(0.01)
        if name == "api":
            raise RuntimeError("api exploded")
        log.append(f"end {name}")

    out = anyio.run(run_in_order, ["db", "cache", "api", "web", "worker"], deps, fn)
    assert out.failed == {"api": "api exploded"}
    assert out.skipped == {"web": "dependency api failed"}
    assert sorted(out.done) == ["cache", "db", "worker"]
    assert log.index("end db") < log.index("start api")
    assert log.index("start cache") < log.index("end db")  # independent items overlap
    assert "start web" not in log


@pytest.mark.parametrize("limit", [1, 2])
def test_limit_bounds_concurrency(limit: int) -> None:
    active = 0
    peak = 0

    async def fn(name: str) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await anyio.sleep(0.01)
        active -= 1

    anyio.run(lambda: run_in_order([str(i) for i in range(6)], {}, fn, limit=limit))
    assert peak == limit
