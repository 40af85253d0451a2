"""Spans of time in Docker's words: shown in the columns people and scripts read (``ps``,
``images``), and read from ``--since``/``--until`` (``logs``, ``events``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import click


def human_duration(seconds: float) -> str:
    """A rounded-down span in Docker's words (its ``HumanDuration``): "Less than a second",
    "About a minute", "3 hours", "2 weeks"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s < 60:
        return f"{s} second{'s' if s > 1 else ''}"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    if hours == 1:
        return "About an hour"
    for limit, unit, size in ((48, "hours", 1), (24 * 7 * 2, "days", 24), (24 * 30 * 3, "weeks", 24 * 7),
                              (24 * 365 * 2, "months", 24 * 30)):
        if hours < limit:
            return f"{hours // size} {unit}"
    return f"{hours // (24 * 365)} years"


_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")


def parse_time(value: str | None, now: float | None = None) -> float | None:
    """``--since``/``--until`` as Docker reads them: an RFC 3339 time, a Unix timestamp, or a
    duration back from now (``42m``, ``1h30m``)."""
    if value is None:
        return None
    now = time.time() if now is None else now
    if _DURATION.fullmatch(value):
        return now - sum(float(n) * _UNIT[u] for n, u in _PART.findall(value))
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not a time, a timestamp or a duration: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
