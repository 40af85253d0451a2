"""Which signal stops a container: its own stop signal, or SIGKILL at once without a grace period."""

from __future__ import annotations

from orchestrator.reconcile.lifecycle import stop_signal_for


def test_no_grace_period_means_sigkill_at_once() -> None:
    assert stop_signal_for(0, "SIGTERM") == "SIGKILL"
    assert stop_signal_for(0.0, None) == "SIGKILL"
    assert stop_signal_for(-1, "SIGQUIT") == "SIGKILL"


def test_a_grace_period_keeps_the_service_s_stop_signal() -> None:
    assert stop_signal_for(10, "SIGINT") == "SIGINT"
    assert stop_signal_for(0.5, None) is None  # the runtime's default, SIGTERM
