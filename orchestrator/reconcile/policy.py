"""Restart decisions and back-off, as Docker makes them, kept pure so they are tested without containers.

Docker's daemon waits 100 ms before the first restart and doubles the wait after each quick
failure up to one minute; a container that ran for 10 s or more counts as healthy and resets the
wait. pystack restarts the first time at once (a single crash costs no idle wait) and backs off
from the second consecutive quick failure on: 0, 0.1, 0.2, 0.4 … 60 s, so a crash loop is damped
exactly as Docker damps it, one restart later. ``deploy.restart_policy`` adds an explicit delay,
a maximum number of attempts and a window after which a run counts as a success.
"""

from __future__ import annotations

from dataclasses import dataclass

BACKOFF_START = 0.1
BACKOFF_MAX = 60.0
HEALTHY_RUN = 10.0


@dataclass(frozen=True)
class RestartPolicy:
    """A ``restart:`` or ``deploy.restart_policy`` setting in one shape, as the supervisor applies it."""
    condition: str = "no"  # no | always | on-failure | unless-stopped
    max_attempts: int | None = None
    delay: float | None = None
    window: float | None = None


@dataclass
class RestartState:
    """The restart count and back-off the supervisor keeps for one container between its exits."""
    attempts: int = 0  # consecutive restarts since the last healthy run
    backoff: float = 0.0


def should_restart(policy: RestartPolicy, exit_code: int, attempts: int, *, stopped_by_user: bool) -> bool:
    if stopped_by_user:
        return False
    if policy.condition in ("always", "unless-stopped"):
        return policy.max_attempts is None or attempts < policy.max_attempts
    if policy.condition == "on-failure":
        if exit_code == 0:
            return False
        return policy.max_attempts is None or attempts < policy.max_attempts
    return False


def next_delay(policy: RestartPolicy, state: RestartState, ran_for: float) -> float:
    """The wait before the next restart; updates ``state`` (attempts, back-off)."""
    healthy_after = policy.window if policy.window else HEALTHY_RUN
    if ran_for >= healthy_after:
        state.attempts = 0
        state.backoff = 0.0
    state.attempts += 1
    if state.attempts > 1:
        state.backoff = BACKOFF_START if state.backoff == 0 else min(state.backoff * 2, BACKOFF_MAX)
    if policy.delay is not None:
        return max(policy.delay, 0.0)
    return state.backoff
