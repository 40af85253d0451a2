"""The effective health check: the stack file's fields over the image's HEALTHCHECK, field by field."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.reconcile.health_merge import effective_health
from orchestrator.reconcile.health_state import HealthConfig

S = 1_000_000_000  # the image config's durations are nanoseconds
IMAGE: dict[str, Any] = {"Test": ["CMD-SHELL", "test -e /tmp/ok"], "Interval": 2 * S, "Timeout": 3 * S,
                         "StartPeriod": 4 * S, "StartInterval": S // 2, "Retries": 7}
IMAGE_CFG = HealthConfig(("CMD-SHELL", "test -e /tmp/ok"), 2.0, 3.0, 7, 4.0, 0.5)


def given(**fields: Any) -> dict[str, Any]:
    """The stack file's healthcheck as the model holds it: every field, None where left out."""
    out: dict[str, Any] = dict.fromkeys(("test", "interval", "timeout", "retries", "start_period",
                                         "start_interval"))
    out["disable"] = False
    out.update(fields)
    return out


def test_nothing_anywhere_is_no_check() -> None:
    assert effective_health(None, None) is None
    assert effective_health(given(interval=1.0), None) is None  # fields but no test: nothing to run
    assert effective_health(None, {"Interval": S}) is None


def test_image_alone_with_nanoseconds_to_seconds() -> None:
    assert effective_health(None, IMAGE) == IMAGE_CFG
    assert effective_health(given(), IMAGE) == IMAGE_CFG  # healthcheck: {disable: false}


def test_docker_defaults_fill_what_neither_gives() -> None:
    assert effective_health(None, {"Test": ["CMD", "true"]}) == HealthConfig(("CMD", "true"), 30.0, 30.0, 3,
                                                                              0.0, 5.0)
    assert effective_health(given(test=["CMD", "true"]), None) == HealthConfig(("CMD", "true"))


@pytest.mark.parametrize(("field", "value"), [
    ("test", ["CMD", "wget", "-q", "localhost"]), ("interval", 9.0), ("timeout", 8.0), ("retries", 1),
    ("start_period", 6.0), ("start_interval", 0.25),
])
def test_each_stack_field_overrides_only_itself(field: str, value: Any) -> None:
    got = effective_health(given(**{field: value}), IMAGE)
    assert got is not None
    for name in ("test", "interval", "timeout", "retries", "start_period", "start_interval"):
        expected = (tuple(value) if field == "test" else value) if name == field else getattr(IMAGE_CFG, name)
        assert getattr(got, name) == expected, name


def test_zero_counts_as_left_out_as_in_docker() -> None:
    """A zero interval would probe in a busy loop; Docker reads zero as 'not set'."""
    got = effective_health(given(interval=0.0, retries=0, start_period=0.0), IMAGE)
    assert got == IMAGE_CFG
    assert effective_health(None, {**IMAGE, "Interval": 0, "Retries": 0}) == HealthConfig(
        IMAGE_CFG.test, 30.0, 3.0, 3, 4.0, 0.5)


@pytest.mark.parametrize("stack_side", [given(test=["NONE"], disable=True), given(test=["NONE"]),
                                        given(disable=True, interval=1.0)])
def test_disable_or_none_turns_the_image_check_off(stack_side: dict[str, Any]) -> None:
    assert effective_health(stack_side, IMAGE) is None


def test_image_none_means_no_check_unless_the_stack_gives_a_test() -> None:
    off = {"Test": ["NONE"], "Interval": 2 * S}
    assert effective_health(None, off) is None
    assert effective_health(given(interval=1.0), off) is None
    assert effective_health(given(test=["CMD", "true"]), off) == HealthConfig(("CMD", "true"), 2.0)


def test_a_malformed_image_test_is_ignored() -> None:
    assert effective_health(None, {"Test": "true"}) is None
