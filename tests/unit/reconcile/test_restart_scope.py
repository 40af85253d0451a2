"""``restart SERVICES``: what depends on them with ``restart: true`` restarts too, after them."""

from __future__ import annotations

from typing import Any

from orchestrator.reconcile.restart_scope import dependencies_first, with_dependents
from orchestrator.state.containers import ContainerRecord


def rec(service: str, number: int = 1, **svc: Any) -> ContainerRecord:
    return ContainerRecord(id=f"{service}{number}", name=f"p-{service}-{number}", project="p", service=service,
                           number=number, config_hash="h", status="running", spec={"service": svc})


def dep(restart: bool) -> dict[str, Any]:
    return {"condition": "service_started", "required": True, "restart": restart}


STACK = [
    rec("db"),
    rec("api", depends_on={"db": dep(True)}),
    rec("api", 2, depends_on={"db": dep(True)}),
    rec("worker", depends_on={"api": dep(True), "cache": dep(False)}),
    rec("web", depends_on={"api": dep(False)}),
    rec("cache"),
    rec("sidecar", ipc="service:db"),
]


def services(recs: list[ContainerRecord]) -> list[str]:
    return [r.name for r in recs]


def test_dependents_with_restart_true_are_taken_in_down_the_chain() -> None:
    assert services(with_dependents(STACK, ["db"])) == ["p-db-1", "p-api-1", "p-api-2", "p-worker-1"]
    assert services(with_dependents(STACK, ["cache"])) == ["p-cache-1"]  # worker's edge to it has no restart
    assert services(with_dependents(STACK, ["api"])) == ["p-api-1", "p-api-2", "p-worker-1"]


def test_each_restarts_after_what_it_depends_on_and_joiners_after_donors() -> None:
    tiers = dependencies_first([*with_dependents(STACK, ["db"]), STACK[-1]])
    assert [services(t) for t in tiers] == [["p-db-1"], ["p-api-1", "p-api-2", "p-sidecar-1"], ["p-worker-1"]]
    # a dependency not being restarted orders nothing
    assert [services(t) for t in dependencies_first([STACK[3], STACK[4]])] == [["p-worker-1", "p-web-1"]]
