"""Summaries of measured series: median, min, max, n, failures, and the pystack/peer ratio.

Pure functions over plain data so that the report's numbers can be unit tested without running anything.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Series:
    """One tool's runs of one figure. A failed run is counted and explained, never dropped silently."""

    values: list[float] = field(default_factory=list)
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    unavailable: str | None = None
    note: str | None = None

    def add(self, value: float) -> None:
        self.values.append(value)

    def fail(self, why: str) -> None:
        self.failed += 1
        line = " ".join(why.split())[:300]
        if line not in self.errors:
            self.errors.append(line)


def summarize(series: Series) -> dict[str, Any]:
    """The issue's ``{median, min, max, n}`` plus ``failed`` and, where relevant, why nothing was measured."""
    vals = series.values
    out: dict[str, Any] = {
        "median": statistics.median(vals) if vals else None,
        "min": min(vals) if vals else None,
        "max": max(vals) if vals else None,
        "n": len(vals),
        "failed": series.failed,
    }
    if series.errors:
        out["errors"] = list(series.errors[:5])
    if series.unavailable:
        out["unavailable"] = series.unavailable
    if series.note:
        out["note"] = series.note
    return out


def ratio(pystack_median: float | None, peer_median: float | None) -> float | None:
    """pystack_median / peer_median; None when either side has no number (or the peer's is zero)."""
    if pystack_median is None or peer_median is None or peer_median == 0:
        return None
    return pystack_median / peer_median


def target_met(pystack_median: float | None, target: dict[str, Any] | None,
               peer_medians: dict[str, float | None]) -> bool | None:
    """Checks the machine-readable target: ``{"peer": TOOL, "factor": F}`` means pystack ≤ F × TOOL's median,
    ``{"max": X}`` means pystack ≤ X in the figure's unit. None when it cannot be decided."""
    if not target or pystack_median is None:
        return None
    if "max" in target:
        return bool(pystack_median <= float(target["max"]))
    peer = target.get("peer")
    if peer is None:
        return None
    ref = peer_medians.get(str(peer))
    if ref is None:
        return None
    factor = float(target.get("factor", 1.0))
    if target.get("strict"):
        return bool(pystack_median < factor * ref)
    return bool(pystack_median <= factor * ref)
