"""The wait for a quiet machine before each group: bounded, and it reports when it gave up."""

from __future__ import annotations

import time

from bench import procs


def test_busy_fraction_is_a_fraction() -> None:
    assert 0.0 <= procs.busy_fraction(0.05) <= 1.0


def test_a_limit_no_machine_can_exceed_ends_the_wait_after_one_window() -> None:
    t0 = time.monotonic()
    assert procs.wait_quiet(limit=1.01, window=0.05, cap=5) is None
    assert time.monotonic() - t0 < 2


def test_a_limit_no_machine_can_meet_gives_up_at_the_cap_with_what_it_saw() -> None:
    t0 = time.monotonic()
    busy = procs.wait_quiet(limit=-0.01, window=0.05, cap=0.2)
    assert busy is not None and 0.0 <= busy <= 1.0
    assert 0.2 <= time.monotonic() - t0 < 3
