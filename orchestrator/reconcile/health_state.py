"""The health-check state machine (starting → healthy / unhealthy), as Docker defines it.

During ``start_period`` failures do not count and probes run every ``start_interval``; a success
at any time makes the container healthy; ``retries`` consecutive failures after that make it
unhealthy. The last five results are kept for ``ps`` and ``inspect``.

Docker runs the first probe one ``interval`` after the start, so a dependant gated on
``service_healthy`` waits at least that long even for a service that is ready at once. pystack
adds early probes inside that first interval (50 ms after the start, then each at twice the time
since the start) and keeps the regular schedule after it: a ready service turns healthy within
milliseconds, and since an early failure does not count, no container turns unhealthy sooner than
under Docker's schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KEEP_RESULTS = 5
EARLY_FIRST = 0.05  # seconds after the start of the first early probe


@dataclass(frozen=True)
class HealthConfig:
    """A health check with Compose's defaults filled in, in seconds, as the supervisor runs it."""
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
    """A container's health as Docker reports it (status, failing streak, last probes), kept across probes."""
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
        elif self.status == "starting" and (since_start < cfg.start_period or since_start < cfg.interval):
            pass  # failures in the start period, or of an early probe, do not count
        else:
            self.failing_streak += 1
            if self.failing_streak >= cfg.retries:
                self.status = "unhealthy"
        return self.status

    def next_interval(self, cfg: HealthConfig, since_start: float) -> float:
        """The wait before the next probe, ``since_start`` seconds after the container started."""
        regular = cfg.interval
        if self.status == "starting" and since_start < cfg.start_period:
            regular = cfg.start_interval
        if self.status == "starting" and 0 <= since_start < cfg.interval:
            early = max(EARLY_FIRST, since_start)  # doubling the time since the start
            return min(regular, early, max(cfg.interval - since_start, 0.0))
        return regular
