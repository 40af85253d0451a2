"""Durations and sizes: Compose's mini-languages, with property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.spec.models.units import Invalid, format_duration, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1m30s", 90.0), ("500ms", 0.5), ("2h", 7200.0), ("1.5s", 1.5), ("10", 10.0), (30, 30.0),
     ("1h2m3s", 3723.0), ("250us", 0.00025), ("0", 0.0), ("0s", 0.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "1x", "s", "1m30", "-5s", "1 m", True, [1]])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(Invalid):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("text", "size"),
    [("512m", 512 * 1024**2), ("1.5g", int(1.5 * 1024**3)), ("100kb", 102400), ("1024", 1024),
     (2048, 2048), ("1G", 1024**3), ("64MiB", 64 * 1024**2), ("10b", 10), ("1 m", 1024**2)],
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "12q", "m", "1.5.5g", "ten", True, {"a": 1}])
def test_bad_sizes(bad: object) -> None:
    with pytest.raises(Invalid):
        parse_size(bad)


@given(st.integers(min_value=0, max_value=10**7), st.sampled_from(["", "k", "m", "g"]), st.booleans())
def test_size_property(number: int, unit: str, upper: bool) -> None:
    text = f"{number}{unit.upper() if upper else unit}"
    power = {"": 0, "k": 1, "m": 2, "g": 3}[unit]
    assert parse_size(text) == number * 1024**power


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999))
def test_duration_property(h: int, m: int, s: int, ms: int) -> None:
    text = f"{h}h{m}m{s}s{ms}ms"
    expected = h * 3600 + m * 60 + s + ms / 1000
    assert parse_duration(text) == pytest.approx(expected)
    # printing and reading back gives the same number of seconds
    assert parse_duration(format_duration(expected)) == pytest.approx(expected)


@given(st.text(max_size=12))
def test_duration_never_crashes(text: str) -> None:
    try:
        value = parse_duration(text)
    except Invalid:
        return
    assert value >= 0
