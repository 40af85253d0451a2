"""``up`` creates containers while the stack's network service boots, and starts none before it is ready."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from orchestrator.errors import PystackError
from orchestrator.plan.model import Action
from orchestrator.reconcile import engine, lifecycle, threads
from orchestrator.reconcile.desired import ServicePlan


class FakeLifecycle:
    """Stands for the kernel work: records the order of creates and starts."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.lock = threading.Lock()

    def create(self, ctx: Any, svc: ServicePlan, number: int) -> str:
        with self.lock:
            self.log.append(f"create {number}")
        return f"c{number}"

    def start(self, ctx: Any, rec: str) -> None:
        with self.lock:
            self.log.append(f"start {rec}")


def _run_three(monkeypatch: pytest.MonkeyPatch, gate: threads.Gate) -> tuple[FakeLifecycle, list[str], threading.Thread,
                                                                             list[threads.Done[Action, None]]]:
    fake = FakeLifecycle()
    monkeypatch.setattr(lifecycle, "create", fake.create)
    monkeypatch.setattr(lifecycle, "start", fake.start)
    svc = ServicePlan(project="gate", service="s", image="busybox", config_hash="h", scale=3)
    actions = [Action("create", "s", n, "new service") for n in (1, 2, 3)]
    reports: list[str] = []
    outcomes: list[threads.Done[Action, None]] = []

    def run() -> None:
        outcomes.extend(threads.each(lambda a: engine._run_action(None, svc, a, reports.append, True, gate),  # type: ignore[arg-type]
                                     actions))

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 5
    while len(fake.log) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    return fake, reports, runner, outcomes


def test_containers_are_created_at_once_and_started_only_when_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threads.Gate()
    fake, reports, runner, outcomes = _run_three(monkeypatch, gate)
    assert sorted(fake.log) == ["create 1", "create 2", "create 3"]  # all made, none started
    gate.open()
    runner.join(5)
    assert sorted(fake.log[3:]) == ["start c1", "start c2", "start c3"]
    assert sum("Started" in r for r in reports) == 3
    assert all(o.error is None for o in outcomes)


def test_a_network_service_that_failed_fails_the_starts_with_its_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threads.Gate()
    fake, reports, runner, outcomes = _run_three(monkeypatch, gate)
    gate.fail(PystackError("the network service of gate did not start"))
    runner.join(5)
    assert sorted(fake.log) == ["create 1", "create 2", "create 3"]  # created, never started
    assert len(outcomes) == 3
    assert all(isinstance(o.error, PystackError) and "did not start" in str(o.error) for o in outcomes)
    assert not any("Started" in r for r in reports)
