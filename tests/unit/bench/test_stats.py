"""The report's numbers: medians, ranges, counts of failures, ratios and target decisions."""

from __future__ import annotations

from bench.stats import Series, ratio, summarize, target_met


def test_summary_of_an_odd_and_an_even_series() -> None:
    assert summarize(Series([3.0, 1.0, 2.0]))["median"] == 2.0
    s = summarize(Series([4.0, 1.0, 3.0, 2.0]))
    assert (s["median"], s["min"], s["max"], s["n"], s["failed"]) == (2.5, 1.0, 4.0, 4, 0)


def test_a_failed_run_is_counted_and_explained_never_dropped() -> None:
    s = Series([1.0])
    s.fail("exit 1:\n  boom")
    s.fail("exit 1:   boom")
    out = summarize(s)
    assert out["n"] == 1 and out["failed"] == 2
    assert out["errors"] == ["exit 1: boom"]


def test_an_unavailable_tool_has_no_numbers_and_says_why() -> None:
    out = summarize(Series(unavailable="`pystack up` does not exist yet"))
    assert out["median"] is None and out["min"] is None and out["n"] == 0
    assert out["unavailable"] == "`pystack up` does not exist yet"


def test_ratio_is_pystack_over_peer_and_undefined_without_both() -> None:
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(None, 4.0) is None
    assert ratio(1.0, None) is None
    assert ratio(1.0, 0.0) is None


def test_target_against_a_peer_with_a_factor() -> None:
    rule = {"peer": "podman", "factor": 0.2}
    assert target_met(0.05, rule, {"podman": 0.3}) is True
    assert target_met(0.07, rule, {"podman": 0.3}) is False
    assert target_met(0.05, rule, {"podman": None}) is None
    assert target_met(None, rule, {"podman": 0.3}) is None


def test_absolute_and_strict_targets() -> None:
    assert target_met(11.0, {"max": 12.0}, {}) is True
    assert target_met(13.0, {"max": 12.0}, {}) is False
    strict = {"peer": "conmon", "factor": 1.0, "strict": True}
    assert target_met(0.4, strict, {"conmon": 0.4}) is False
    assert target_met(0.39, strict, {"conmon": 0.4}) is True
