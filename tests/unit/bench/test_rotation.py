"""Tools are alternated: each repetition runs every tool once, starting with a different one."""

from __future__ import annotations

from bench.context import Context
from bench.figures.common import rotations
from bench.stats import Series


def test_every_repetition_runs_each_tool_once_in_a_rotated_order() -> None:
    order = list(rotations(["pystack", "podman", "docker"], 4))
    assert [t for r, t in order if r == 0] == ["pystack", "podman", "docker"]
    assert [t for r, t in order if r == 1] == ["podman", "docker", "pystack"]
    assert [t for r, t in order if r == 3] == ["pystack", "podman", "docker"]
    assert len(order) == 12


def test_no_tools_means_no_runs() -> None:
    assert list(rotations([], 5)) == []


def test_a_top_up_goes_on_with_the_rotation_where_the_counted_runs_stopped() -> None:
    order = list(rotations(["pystack", "podman"], 2, first=5))
    assert order == [(5, "podman"), (5, "pystack"), (6, "pystack"), (6, "podman")]


def _ctx(quick: bool = False, override: int | None = None) -> Context:
    ctx = Context.__new__(Context)  # only the run-count fields matter here
    ctx.quick, ctx.runs_override = quick, override
    return ctx


def _series(*values: float) -> Series:
    s = Series()
    for v in values:
        s.add(v)
    return s


def test_a_figure_under_100_ms_is_owed_five_more_runs_and_a_slower_one_none() -> None:
    ctx = _ctx()
    assert ctx.top_up([_series(0.08, 0.09, 0.08, 0.2, 0.09), _series(0.4, 0.4)], 1.0) == 5
    assert ctx.top_up([_series(0.12, 0.11, 0.13, 0.12, 0.11), _series(0.4)], 1.0) == 0
    assert ctx.top_up([_series(30.0, 29.0, 31.0)], 0.001) == 5  # a figure in ms
    assert ctx.top_up([_series(), _series(0.5)], 1.0) == 0  # nothing measured decides nothing


def test_quick_and_explicit_run_counts_are_never_topped_up() -> None:
    fast = [_series(0.01, 0.01, 0.01)]
    assert _ctx(quick=True).top_up(fast, 1.0) == 0
    assert _ctx(override=2).top_up(fast, 1.0) == 0
