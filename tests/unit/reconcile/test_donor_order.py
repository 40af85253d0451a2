"""donors_first: one ``start``/``restart`` of a donor and its joiners starts the donor first."""

from __future__ import annotations

from typing import Any

from orchestrator.reconcile.isolation import donors_first
from orchestrator.state.containers import ContainerRecord


def _rec(service: str, number: int = 1, **keys: Any) -> ContainerRecord:
    return ContainerRecord(id=f"{service}{number}", name=f"p-{service}-{number}", project="p", service=service,
                           number=number, config_hash="h", status="exited", spec={"service": keys})


def _names(tiers: list[list[ContainerRecord]]) -> list[list[str]]:
    return [sorted(r.id for r in tier) for tier in tiers]


def test_joiners_of_ipc_and_pid_wait_for_their_donors_and_the_rest_starts_at_once() -> None:
    recs = [_rec("c", ipc="service:b"), _rec("b", pid="service:a"), _rec("a", 1), _rec("a", 2),
            _rec("free", ipc="shareable", pid="host")]
    assert _names(donors_first(recs)) == [["a1", "a2", "free1"], ["b1"], ["c1"]]


def test_a_donor_outside_the_selection_or_of_another_kind_orders_nothing() -> None:
    recs = [_rec("j", pid="service:gone", ipc="container:other"), _rec("k", network_mode="service:j")]
    assert _names(donors_first(recs)) == [["j1", "k1"]]
    assert donors_first([]) == []


def test_a_cycle_is_started_together_rather_than_never() -> None:
    recs = [_rec("a", ipc="service:b"), _rec("b", pid="service:a"), _rec("c")]
    assert _names(donors_first(recs)) == [["c1"], ["a1", "b1"]]
