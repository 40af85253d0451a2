"""What every figure group gets: the work directory, the run counts, the image and the prepared tools."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.stats import Series

if TYPE_CHECKING:
    from bench.peers import Engine, RuntimePeer
    from bench.pystack_tool import Pystack

FAST_SECONDS = 0.1  # the rule: 10 counted runs for anything under 100 ms


@dataclass
class Context:
    workdir: Path
    quick: bool
    only: set[str] | None
    rootfs: Path
    image_tar: Path
    bundle: Path
    pystack: Pystack
    runtimes: dict[str, RuntimePeer] = field(default_factory=dict)
    engines: dict[str, Engine] = field(default_factory=dict)
    composes: dict[str, Engine] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    runs_override: int | None = None
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def warmups(self) -> int:
        return 1

    def runs(self, fast: bool = False) -> int:
        """Counted runs: 3 in --quick, else 5, or 10 for a figure under 100 ms."""
        if self.runs_override is not None:
            return self.runs_override
        if self.quick:
            return 3
        return 10 if fast else 5

    def top_up(self, series: Iterable[Series], seconds_per_unit: float) -> int:
        """Repetitions still owed once :meth:`runs` were made: a figure that turned out to be under
        100 ms (any tool's median, in seconds = value x *seconds_per_unit*) gets 10 counted runs.
        Decided from the counted runs themselves, not from a warm-up that caches make slower."""
        done = self.runs()
        fast = any(s.values and statistics.median(s.values) * seconds_per_unit < FAST_SECONDS for s in series)
        return max(0, self.runs(fast=fast) - done)

    def wants(self, tool: str) -> bool:
        return self.only is None or tool in self.only

    def fixture(self, name: str) -> Path:
        return Path(__file__).resolve().parent / "fixtures" / name
