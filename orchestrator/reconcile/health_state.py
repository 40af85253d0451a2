"""The health-check state machine (starting → healthy / unhealthy), as Docker defines it.

During ``start_period`` failures do not count and probes run every ``start_interval``; a success
at any time makes the container healthy; ``retries`` consecutive failures after that make it
unhealthy. The last five results are kept for ``ps`` and ``inspect``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KEEP_RESULTS = 5


@dataclass(frozen=True)
class HealthConfig:
    test: tuple[str, ...]
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0
    start_interval: float = 5.0

    @property
    def disabled(self) -> bool:
        return not self.test or self.test[0] == "NONE"


@dataclass
class HealthState:
    status: str = "starting"
    failing_streak: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)

    def record(self, cfg: HealthConfig, *, exit_code: int, output: str, started: float, ended: float,
               since_start: float) -> str:
        """Fold one probe result in; returns the new status."""
        self.log.append({"start": started, "end": ended, "exit_code": exit_code, "output": output[-4096:]})
        del self.log[:-KEEP_RESULTS]
        if exit_code == 0:
            self.failing_streak = 0
            self.status = "healthy"
        elif since_start < cfg.start_period and self.status == "starting":
            pass  # failures in the start period do not count
        else:
            self.failing_streak += 1
            if self.failing_streak >= cfg.retries:
                self.status = "unhealthy"
        return self.status

    def next_interval(self, cfg: HealthConfig, since_start: float) -> float:
        if self.status == "starting" and since_start < cfg.start_period:
            return cfg.start_interval
        return cfg.interval
