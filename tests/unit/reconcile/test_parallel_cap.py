"""--parallel N: every parallel step of the command runs at most N items at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from orchestrator.reconcile import threads
from orchestrator.reconcile.parallel import run_in_order


@pytest.fixture(autouse=True)
def _uncapped() -> Iterator[None]:
    yield
    threads.set_parallel(-1)


class Meter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0

    def work(self, _item: object) -> None:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.02)
        with self.lock:
            self.active -= 1


def test_a_cap_of_one_runs_one_at_a_time() -> None:
    threads.set_parallel(1)
    meter = Meter()
    assert [d.error for d in threads.each(meter.work, list(range(6)))] == [None] * 6
    assert meter.most == 1
    meter = Meter()
    assert run_in_order([f"s{i}" for i in range(6)], {}, meter.work).ok
    assert meter.most == 1
    assert threads.workers(8) == 1


def test_without_a_cap_they_all_run_together() -> None:
    threads.set_parallel(-1)
    barrier = threading.Barrier(4, timeout=10)  # passes only if all four run at the same time
    assert [d.error for d in threads.each(lambda _i: barrier.wait(), list(range(4)))] == [None] * 4
    threads.set_parallel(0)  # as -1
    assert threads.workers(8) == 8
    threads.set_parallel(3)
    assert threads.workers(8) == 3 and threads.workers(2) == 2


def test_the_global_flag_and_its_variable_set_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.cli.main import main

    main(["--parallel", "2", "version"])
    assert threads.workers() == 2
    threads.set_parallel(-1)
    monkeypatch.setenv("COMPOSE_PARALLEL_LIMIT", "1")
    main(["version"])
    assert threads.workers() == 1
