"""The health check a container runs: the stack file's over the image's HEALTHCHECK, then Docker's defaults.

Compose hands the service's healthcheck to the engine, and the engine fills every field the
service leaves out from the image config's ``Healthcheck``, one field at a time; a field still
unset after that gets Docker's default. As in Docker, a zero duration or zero ``retries`` counts
as unset (a zero interval would probe in a busy loop), and a test of ``["NONE"]`` (or
``disable: true``, which the spec layer turns into it) means no health check at all, the image's
included. Pure: the reconciler passes the image config in, so this is tested without images.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.reconcile.health_state import HealthConfig

_NS = 1_000_000_000
# stack-file key -> image-config key; durations are seconds in the stack model, nanoseconds in the image
_DURATIONS = {"interval": "Interval", "timeout": "Timeout", "start_period": "StartPeriod",
              "start_interval": "StartInterval"}
_DEFAULTS = HealthConfig(())


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def effective_health(given: Mapping[str, Any] | None, image: Mapping[str, Any] | None) -> HealthConfig | None:
    """``given``: the stack file's fields (``test``, ``interval`` … in seconds, ``None`` where left
    out); ``image``: the image config's ``Healthcheck`` (``Test``, ``Interval`` … in nanoseconds).
    ``None`` when no check is to run."""
    given = given or {}
    image = image or {}
    test = given.get("test") or image.get("Test")
    if not isinstance(test, (list, tuple)):
        test = []
    if not test or test[0] == "NONE" or given.get("disable"):
        return None
    values: dict[str, Any] = {}
    for key, image_key in _DURATIONS.items():
        if _positive(given.get(key)):
            values[key] = float(given[key])
        elif _positive(image.get(image_key)):
            values[key] = image[image_key] / _NS
        else:
            values[key] = getattr(_DEFAULTS, key)
    if _positive(given.get("retries")):
        values["retries"] = int(given["retries"])
    elif _positive(image.get("Retries")):
        values["retries"] = int(image["Retries"])
    else:
        values["retries"] = _DEFAULTS.retries
    return HealthConfig(tuple(str(t) for t in test), **values)
