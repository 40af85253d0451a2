"""``threads.each``: every item runs, at the same time, and a failure is one item's outcome."""

from __future__ import annotations

import threading

import pytest

from orchestrator.reconcile import threads


def test_every_item_runs_at_the_same_time_and_reports_its_result() -> None:
    barrier = threading.Barrier(5, timeout=5)  # passes only if all five run at once

    def fn(n: int) -> int:
        barrier.wait()
        return n * n

    done = list(threads.each(fn, [1, 2, 3, 4, 5]))
    assert sorted((d.item, d.result) for d in done) == [(1, 1), (2, 4), (3, 9), (4, 16), (5, 25)]
    assert all(d.error is None for d in done)


def test_an_exception_is_its_items_outcome_and_the_others_go_on() -> None:
    def fn(n: int) -> int:
        if n == 2:
            raise ValueError("two")
        return n

    done = {d.item: d for d in threads.each(fn, [1, 2, 3])}
    assert isinstance(done[2].error, ValueError) and done[2].result is None
    assert (done[1].result, done[3].result) == (1, 3)


def test_an_interrupt_is_not_an_outcome() -> None:
    def fn(n: int) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(threads.each(fn, [1]))


def test_no_items_no_threads() -> None:
    before = threading.active_count()
    assert list(threads.each(lambda n: n, [])) == []
    assert threading.active_count() == before
