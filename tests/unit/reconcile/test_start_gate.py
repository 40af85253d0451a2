"""``up`` creates containers while the stack's network service boots, and starts none before it is ready."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from orchestrator.plan.model import Action
from orchestrator.reconcile import engine, lifecycle
from orchestrator.reconcile.desired import ServicePlan


class FakeLifecycle:
    """Stands for the kernel work: records the order of creates and starts."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def create(self, ctx: Any, svc: ServicePlan, number: int) -> str:
        self.log.append(f"create {number}")
        return f"c{number}"

    def start(self, ctx: Any, rec: str) -> None:
        self.log.append(f"start {rec}")


def test_containers_are_created_at_once_and_started_only_when_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeLifecycle()
    monkeypatch.setattr(lifecycle, "create", fake.create)
    monkeypatch.setattr(lifecycle, "start", fake.start)
    svc = ServicePlan(project="gate", service="s", image="busybox", config_hash="h", scale=3)
    actions = [Action("create", "s", n, "new service") for n in (1, 2, 3)]
    reports: list[str] = []

    async def main() -> None:
        ready = anyio.Event()
        async with anyio.create_task_group() as tg:
            for action in actions:
                tg.start_soon(engine._run_action, None, svc, action, reports.append, True, ready)
            with anyio.fail_after(5):
                while len(fake.log) < 3:
                    await anyio.sleep(0.01)
            await anyio.sleep(0.05)
            assert sorted(fake.log) == ["create 1", "create 2", "create 3"]  # all made, none started
            ready.set()
        assert sorted(fake.log[3:]) == ["start c1", "start c2", "start c3"]

    anyio.run(main)
    assert sum("Started" in r for r in reports) == 3
