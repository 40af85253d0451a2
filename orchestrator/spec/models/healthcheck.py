"""Healthchecks as the stack file gives them: a field left out is ``None``, not a default.

Compose's healthcheck overrides the image's HEALTHCHECK field by field, so "not given" must stay
distinguishable from "given the default value" until the image config is known; the reconciler
merges the two and fills Docker's defaults (see :mod:`orchestrator.reconcile.health_merge`).
"""

from __future__ import annotations

from typing import Any

from pydantic import field_serializer, field_validator

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


class Healthcheck(Model):
    test: list[str] | None = None
    interval: float | None = None
    timeout: float | None = None
    retries: int | None = None
    start_period: float | None = None
    start_interval: float | None = None
    disable: bool = False

    @field_validator("interval", "timeout", "start_period", "start_interval", mode="before")
    @classmethod
    def _read_durations(cls, value: Any) -> Any:
        """A duration as the JSON form writes it ("1m30s"): a dumped model validates back."""
        return parse_duration(value) if isinstance(value, str) else value

    @field_serializer("interval", "timeout", "start_period", "start_interval", when_used="unless-none")
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
        test_list = ["NONE"] if disable else []  # [] : the image's test, if it has one
    else:
        raise Invalid("test must be a string or a non-empty list", ("test",))
    if test_list == ["NONE"]:
        disable = True
    if disable:
        test_list = ["NONE"]
    if test_list:
        out["test"] = test_list
    else:
        out.pop("test", None)
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
