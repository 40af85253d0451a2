"""A figure: one measured quantity, pystack's series beside each peer's, and the target the issue sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.stats import Series, ratio, summarize, target_met


@dataclass
class Figure:
    name: str
    unit: str
    target: str
    rule: dict[str, Any] | None = None
    group: str = ""
    note: str | None = None
    pystack: Series = field(default_factory=Series)
    peers: dict[str, Series] = field(default_factory=dict)

    def peer(self, tool: str) -> Series:
        return self.peers.setdefault(tool, Series())

    def series(self, tool: str) -> Series:
        return self.pystack if tool == "pystack" else self.peer(tool)

    def to_dict(self) -> dict[str, Any]:
        return finish({
            "name": self.name,
            "unit": self.unit,
            "target": self.target,
            "rule": self.rule,
            "group": self.group,
            "note": self.note,
            "pystack": summarize(self.pystack),
            "peers": {tool: summarize(s) for tool, s in self.peers.items()},
        })


def _stats(raw: Any) -> dict[str, Any]:
    """Normalizes a ``{median, min, max, n}`` block coming from another helper's script."""
    if not isinstance(raw, dict):
        return {"median": None, "min": None, "max": None, "n": 0, "failed": 0}
    out = dict(raw)
    for key in ("median", "min", "max"):
        value = out.get(key)
        out[key] = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    n = out.get("n")
    out["n"] = int(n) if isinstance(n, int) and not isinstance(n, bool) else 0
    out.setdefault("failed", 0)
    return out


def finish(fig: dict[str, Any]) -> dict[str, Any]:
    """Fills in ``ratio`` and ``target_met`` for a figure dict (ours or merged from another script)."""
    out = dict(fig)
    out["name"] = str(out.get("name", "?"))
    out["unit"] = str(out.get("unit", ""))
    out.setdefault("target", None)
    out["pystack"] = _stats(out.get("pystack"))
    peers = out.get("peers")
    out["peers"] = {str(k): _stats(v) for k, v in peers.items()} if isinstance(peers, dict) else {}
    py_median = out["pystack"]["median"]
    out["ratio"] = {tool: ratio(py_median, st["median"]) for tool, st in out["peers"].items()}
    rule = out.get("rule")
    medians = {tool: st["median"] for tool, st in out["peers"].items()}
    out["target_met"] = target_met(py_median, rule if isinstance(rule, dict) else None, medians)
    return out
