"""Restart decisions, back-off and the health state machine, without containers."""

from __future__ import annotations

from orchestrator.reconcile.health_state import HealthConfig, HealthState
from orchestrator.reconcile.policy import RestartPolicy, RestartState, next_delay, should_restart


def test_policies_decide_like_docker() -> None:
    assert not should_restart(RestartPolicy("no"), 1, 0, stopped_by_user=False)
    assert should_restart(RestartPolicy("always"), 0, 5, stopped_by_user=False)
    assert not should_restart(RestartPolicy("always"), 0, 0, stopped_by_user=True)
    assert should_restart(RestartPolicy("unless-stopped"), 0, 0, stopped_by_user=False)
    assert not should_restart(RestartPolicy("on-failure"), 0, 0, stopped_by_user=False)
    on2 = RestartPolicy("on-failure", max_attempts=2)
    assert should_restart(on2, 3, 1, stopped_by_user=False)
    assert not should_restart(on2, 3, 2, stopped_by_user=False)


def test_backoff_doubles_to_a_minute_and_resets_after_a_healthy_run() -> None:
    pol, st = RestartPolicy("always"), RestartState()
    delays = [next_delay(pol, st, ran_for=0.01) for _ in range(13)]
    assert delays[:5] == [0.0, 0.1, 0.2, 0.4, 0.8]
    assert delays[-1] == 60.0
    assert next_delay(pol, st, ran_for=11.0) == 0.0
    assert st.attempts == 1
    assert next_delay(pol, st, ran_for=0.5) == 0.1


def test_explicit_delay_wins() -> None:
    assert next_delay(RestartPolicy("always", delay=2.5), RestartState(), 0) == 2.5


def test_health_state_machine() -> None:
    cfg = HealthConfig(("CMD", "true"), interval=1, retries=2, start_period=5, start_interval=0.5)
    h = HealthState()
    assert h.record(cfg, exit_code=1, output="no", started=0, ended=0, since_start=1) == "starting"
    assert h.next_interval(cfg, since_start=1) == 0.5
    assert h.record(cfg, exit_code=0, output="ok", started=0, ended=0, since_start=2) == "healthy"
    assert h.record(cfg, exit_code=1, output="x", started=0, ended=0, since_start=6) == "healthy"
    assert h.record(cfg, exit_code=1, output="x", started=0, ended=0, since_start=7) == "unhealthy"
    assert h.next_interval(cfg, since_start=7) == 1
    for _ in range(10):
        h.record(cfg, exit_code=1, output="x", started=0, ended=0, since_start=8)
    assert len(h.log) == 5
    assert HealthConfig(("NONE",)).disabled


def test_early_probes_inside_the_first_interval_and_the_regular_schedule_after() -> None:
    cfg = HealthConfig(("CMD", "true"), interval=1, retries=1)
    h = HealthState()
    t, times = 0.0, []
    while t < 3.5:
        t += h.next_interval(cfg, since_start=t)
        times.append(round(t, 3))
    # 50 ms after the start, then doubling, never past the first regular probe at 1 s; then every 1 s
    assert times == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 2.0, 3.0, 4.0]
    # an early failure does not count, even with retries=1; the regular probe at 1 s does
    assert h.record(cfg, exit_code=1, output="no", started=0, ended=0, since_start=0.05) == "starting"
    assert h.failing_streak == 0
    assert h.record(cfg, exit_code=1, output="no", started=0, ended=0, since_start=1.0) == "unhealthy"


def test_an_early_success_is_healthy_at_once() -> None:
    cfg = HealthConfig(("CMD", "true"), interval=30)
    h = HealthState()
    assert h.next_interval(cfg, since_start=0.0) == 0.05
    assert h.record(cfg, exit_code=0, output="", started=0, ended=0, since_start=0.05) == "healthy"
    assert h.next_interval(cfg, since_start=0.06) == 30
