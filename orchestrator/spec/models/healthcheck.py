"""Healthchecks with Docker's defaults filled in, so the monitor never guesses."""

from __future__ import annotations

from typing import Any

from pydantic import field_serializer

from orchestrator.spec.models.base import Model
from orchestrator.spec.models.units import (
    Invalid,
    drop_x,
    format_duration,
    kind,
    parse_bool,
    parse_duration,
    parse_int,
    scalar_str,
)

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_START_INTERVAL = 5.0


class Healthcheck(Model):
    test: list[str]
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    start_period: float = 0.0
    start_interval: float = DEFAULT_START_INTERVAL
    disable: bool = False

    @field_serializer("interval", "timeout", "start_period", "start_interval")
    def _durations(self, value: float) -> str:
        return format_duration(value)


_DURATIONS = ("interval", "timeout", "start_period", "start_interval")


def normalize_healthcheck(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid(f"must be a mapping, not {kind(value)}")
    value = drop_x(value)
    out = dict(value)
    disable = parse_bool(value["disable"]) if "disable" in value else False
    test = value.get("test")
    if isinstance(test, str):
        test_list = ["CMD-SHELL", test]
    elif isinstance(test, list) and test:
        test_list = [scalar_str(t, "test") for t in test]
        if test_list[0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise Invalid(f'test must start with "CMD", "CMD-SHELL" or "NONE", not "{test_list[0]}"', ("test",))
        if test_list[0] == "CMD-SHELL" and len(test_list) != 2:
            test_list = ["CMD-SHELL", " ".join(test_list[1:])]
    elif test is None:
        test_list = ["NONE"] if disable else []
    else:
        raise Invalid("test must be a string or a non-empty list", ("test",))
    if test_list == ["NONE"]:
        disable = True
    if disable:
        test_list = ["NONE"]
    if not test_list:
        raise Invalid("a healthcheck needs a test (or disable: true)", ("test",))
    out["test"] = test_list
    out["disable"] = disable
    for key in _DURATIONS:
        if value.get(key) is not None:
            try:
                out[key] = parse_duration(value[key])
            except Invalid as exc:
                raise Invalid(exc.message, (key,)) from None
        else:
            out.pop(key, None)
    if value.get("retries") is not None:
        try:
            out["retries"] = parse_int(value["retries"], "retries")
        except Invalid as exc:
            raise Invalid(exc.message, ("retries",)) from None
    else:
        out.pop("retries", None)
    return out
