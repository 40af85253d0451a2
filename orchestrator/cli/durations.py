"""Spans of time in Docker's words, for the columns people and scripts read (``ps``, ``images``)."""

from __future__ import annotations


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
