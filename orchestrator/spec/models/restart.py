"""One restart model from ``restart:`` and ``deploy.restart_policy`` (Compose honours both)."""


from __future__ import annotations

from typing import Any, Literal

from pydantic import field_serializer, field_validator

from orchestrator.spec.behaviour import RestartBehaviour
from orchestrator.spec.models.base import Model
from orchestrator.spec.models.units import Invalid, format_duration, parse_duration, parse_int

Condition = Literal["no", "always", "on-failure", "unless-stopped"]


class RestartPolicy(Model, RestartBehaviour):
    condition: Condition = "no"
    max_attempts: int | None = None
    delay: float | None = None
    window: float | None = None

    @field_validator("delay", "window", mode="before")
    @classmethod
    def _read_durations(cls, value: Any) -> Any:
        """A duration as the JSON form writes it ("1m30s"): a dumped model validates back."""
        return parse_duration(value) if isinstance(value, str) else value

    @field_serializer("delay", "window")
    def _durations(self, value: float | None) -> str | None:
        return None if value is None else format_duration(value)


_DEPLOY_CONDITIONS = {"none": "no", "on-failure": "on-failure", "any": "always"}


def parse_restart(value: Any) -> dict[str, Any]:
    if value is False:  # YAML 1.1 reads an unquoted ``no`` as false
        return {"condition": "no"}
    if not isinstance(value, str):
        raise Invalid(f"invalid restart policy {value!r}: must be a string")
    name, _, count = value.partition(":")
    if name not in ("no", "always", "on-failure", "unless-stopped"):
        raise Invalid(f'invalid restart policy "{value}": must be no, always, on-failure[:N] or unless-stopped')
    out: dict[str, Any] = {"condition": name}
    if count:
        if name != "on-failure":
            raise Invalid(f'invalid restart policy "{value}": only on-failure takes a retry count')
        out["max_attempts"] = parse_int(count, "retry count")
    return out


def parse_deploy_restart(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid("must be a mapping")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "condition":
            if item not in _DEPLOY_CONDITIONS:
                raise Invalid(f'invalid condition "{item}": must be none, on-failure or any', ("condition",))
            out["condition"] = _DEPLOY_CONDITIONS[item]
        elif key in ("delay", "window"):
            try:
                out[key] = parse_duration(item)
            except Invalid as exc:
                raise Invalid(exc.message, (key,)) from None
        elif key == "max_attempts":
            out[key] = parse_int(item, "max_attempts")
        elif isinstance(key, str) and key.startswith("x-"):
            continue  # an extension: kept by the service's nested_extensions
        else:
            raise Invalid(f'unknown key "{key}"', (key,))
    out.setdefault("condition", "always")
    return out


def reconcile_restart(restart: dict[str, Any] | None, deploy: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """``restart:`` names the condition when both are given; ``deploy`` fills delay/window/attempts.

    Returns the merged policy and a warning (empty when the two agree)."""
    if restart is None and deploy is None:
        return {"condition": "no"}, ""
    if restart is None:
        assert deploy is not None
        return deploy, ""
    if deploy is None:
        return restart, ""
    merged = {**deploy, **restart}
    warning = ""
    if deploy["condition"] != restart["condition"]:
        warning = (f'restart "{restart["condition"]}" overrides deploy.restart_policy.condition '
                   f'"{deploy["condition"]}"')
    return merged, warning
