"""``up``'s order of work: containers are made at once (those that join another's namespaces after
it), started in dependency order, and none before the stack's network service is ready."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from orchestrator.errors import PystackError
from orchestrator.plan.model import Action, Plan
from orchestrator.reconcile import engine, lifecycle, threads
from orchestrator.reconcile.desired import ServicePlan
from orchestrator.reconcile.engine import StackPlan


class Rec:
    """What the engine reads of a container record here: a service container without hooks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.one_off = False
        self.spec: dict[str, Any] = {}


class FakeLifecycle:
    """Stands for the kernel work: records the order of creates and starts."""

    def __init__(self, slow: dict[str, float] | None = None, fail: str = "") -> None:
        self.log: list[str] = []
        self.lock = threading.Lock()
        self.slow = slow or {}
        self.fail = fail

    def create(self, ctx: Any, svc: ServicePlan, number: int, renew_anonymous: bool = False) -> Rec:
        time.sleep(self.slow.get(svc.service, 0.0))
        if svc.service == self.fail:
            raise PystackError(f"{svc.service} cannot be made")
        with self.lock:
            self.log.append(f"create {svc.service}-{number}")
        return Rec(f"{svc.service}-{number}")

    def start(self, ctx: Any, rec: Rec) -> None:
        with self.lock:
            self.log.append(f"start {rec.name}")


def _stack(**services: dict[str, Any]) -> tuple[StackPlan, Plan]:
    plans = {}
    actions = []
    for name, kw in services.items():
        scale = kw.pop("scale", 1)
        plans[name] = ServicePlan(project="gate", service=name, image="busybox", config_hash="h", scale=scale, **kw)
        actions += [Action("create", name, n, "new service") for n in range(1, scale + 1)]
    order = [[n] for n in services]
    return StackPlan("gate", plans, order), Plan("gate", actions, order)


def _patch(monkeypatch: pytest.MonkeyPatch, fake: FakeLifecycle) -> None:
    monkeypatch.setattr(lifecycle, "create", fake.create)
    monkeypatch.setattr(lifecycle, "start", fake.start)


def _run(sp: StackPlan, plan: Plan, gate: threads.Gate | None,
         reports: list[str]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    ctx: Any = None  # the fake lifecycle needs none

    runner = threading.Thread(target=lambda: out.append(engine.execute(ctx, sp, plan, reports.append, ready=gate)))
    runner.start()
    return runner, out


def _wait_for(cond: Any) -> None:
    deadline = time.monotonic() + 5
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)


def _three_behind_a_gate(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[FakeLifecycle, threads.Gate, list[str], threading.Thread, list[Any]]:
    """Three replicas made while the gate is shut: returns once all three are made."""
    fake = FakeLifecycle()
    _patch(monkeypatch, fake)
    sp, plan = _stack(s={"scale": 3})
    gate = threads.Gate()
    reports: list[str] = []
    runner, out = _run(sp, plan, gate, reports)
    _wait_for(lambda: len(fake.log) >= 3)
    time.sleep(0.05)
    return fake, gate, reports, runner, out


def test_containers_are_created_at_once_and_started_only_when_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, gate, reports, runner, out = _three_behind_a_gate(monkeypatch)
    assert sorted(fake.log) == ["create s-1", "create s-2", "create s-3"]  # all made, none started
    gate.open()
    runner.join(5)
    assert sorted(fake.log[3:]) == ["start s-1", "start s-2", "start s-3"]
    assert sum("Started" in r for r in reports) == 3
    assert out[0].ok and out[0].done == ["s"]


def test_dependants_are_made_beside_their_dependencies_but_started_after_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeLifecycle(slow={"db": 0.2})
    _patch(monkeypatch, fake)
    # api starts after db; side joins db's network namespace, so it is made after db too
    sp, plan = _stack(db={}, api={"after": ["db"]}, side={"after": ["db"], "made_after": ["db"]})
    runner, out = _run(sp, plan, None, [])
    runner.join(5)
    log = fake.log
    assert log.index("create api-1") < log.index("create db-1")  # not waiting for db at all
    assert log.index("create db-1") < log.index("create side-1")
    assert log.index("start db-1") < log.index("start api-1")
    assert log.index("start db-1") < log.index("start side-1")
    assert out[0].ok


def test_a_service_that_cannot_be_made_skips_its_dependants_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeLifecycle(fail="db")
    _patch(monkeypatch, fake)
    sp, plan = _stack(db={}, api={"after": ["db"]}, web={"after": ["api"]})
    runner, out = _run(sp, plan, None, [])
    runner.join(5)
    outcome = out[0]
    assert outcome.failed == {"db": "db cannot be made"}
    assert outcome.skipped == {"api": "dependency db failed", "web": "dependency api failed"}
    assert not any(line.startswith("start") for line in fake.log)


def test_a_network_service_that_failed_fails_the_starts_with_its_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, gate, reports, runner, out = _three_behind_a_gate(monkeypatch)
    gate.fail(PystackError("the network service of gate did not start"))
    runner.join(5)
    assert sorted(fake.log) == ["create s-1", "create s-2", "create s-3"]  # created, never started
    assert "did not start" in out[0].failed["s"]
    assert not any("Started" in r for r in reports)
