"""The dependency graph: an edge per reference kind, cycles named, start/stop generations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import SpecError
from orchestrator.plan.graph import dependency_graph, start_generations, stop_generations
from orchestrator.spec.models import Stack
from orchestrator.spec.stack import build_stack


def make(services: dict[str, Any], **kw: Any) -> Stack:
    full = {name: {"image": "x", **spec} for name, spec in services.items()}
    return build_stack({"services": full, "volumes": {"v": None}}, project="p", working_dir=Path("/srv"), **kw)


WEB = {
    "web": {"depends_on": ["api"], "links": ["cache"]},
    "api": {"depends_on": {"db": {"condition": "service_healthy"}}, "volumes_from": ["data:ro"]},
    "db": {},
    "cache": {},
    "data": {},
    "sidecar": {"network_mode": "service:api", "ipc": "service:db", "pid": "service:cache"},
}


def test_edges_for_every_reference_kind() -> None:
    g = dependency_graph(make(WEB))
    kinds = {(a, b): g.edges[a, b]["kind"] for a, b in g.edges}
    assert kinds == {("web", "api"): "depends_on", ("web", "cache"): "links", ("api", "db"): "depends_on",
                     ("api", "data"): "volumes_from", ("sidecar", "api"): "network_mode",
                     ("sidecar", "db"): "ipc", ("sidecar", "cache"): "pid"}
    assert g.edges["api", "db"]["condition"] == "service_healthy"


def test_start_generations_dependencies_first() -> None:
    assert start_generations(make(WEB)) == [["cache", "data", "db"], ["api"], ["sidecar", "web"]]


def test_stop_generations_are_the_reverse() -> None:
    stack = make(WEB)
    assert stop_generations(stack) == list(reversed(start_generations(stack)))


def test_targets_pull_in_dependencies() -> None:
    assert start_generations(make(WEB), ["api"]) == [["data", "db"], ["api"]]
    assert start_generations(make(WEB), ["db"]) == [["db"]]


def test_stopping_a_dependency_stops_its_dependants_first() -> None:
    assert stop_generations(make(WEB), ["db"]) == [["sidecar", "web"], ["api"], ["db"]]


def test_unknown_target() -> None:
    with pytest.raises(SpecError, match="no such service: nope"):
        start_generations(make(WEB), ["nope"])


def test_cycle_is_named_at_load() -> None:
    with pytest.raises(Exception, match=r"dependency cycle detected: a -> b -> c -> a"):
        make({"a": {"depends_on": ["b"]}, "b": {"links": ["c"]}, "c": {"volumes_from": ["a"]}})


def test_self_dependency_at_load() -> None:
    with pytest.raises(Exception, match="depends on itself"):
        make({"a": {"depends_on": ["a"]}})


def test_graph_reports_cycles_itself() -> None:
    """A Stack built without the loader's checks (model_copy) still cannot yield an order."""
    ok = make({"a": {"depends_on": ["b"]}, "b": {}})
    b = ok.services["b"].model_copy(update={"depends_on": ok.services["a"].depends_on.__class__(
        {"a": ok.services["a"].depends_on["b"]})})
    broken = ok.model_copy(update={"services": {"a": ok.services["a"], "b": b}})
    with pytest.raises(SpecError, match=r"dependency cycle detected: (a -> b -> a|b -> a -> b)"):
        dependency_graph(broken)


def test_disabled_optional_dependency_has_no_edge() -> None:
    stack = make({"a": {"depends_on": {"b": {"condition": "service_started", "required": False}}},
                  "b": {"profiles": ["off"]}})
    assert list(dependency_graph(stack).edges) == []
    assert start_generations(stack) == [["a"]]


def test_large_chain_is_fast_enough_to_build() -> None:
    services = {f"s{i}": {"depends_on": [f"s{i - 1}"]} if i else {} for i in range(300)}
    gens = start_generations(make(services))
    assert len(gens) == 300 and gens[0] == ["s0"]


def test_volumes_from_chains_start_each_donor_before_its_borrower() -> None:
    """c borrows b's mounts, which include what b borrowed from a: a must exist before b, b before c."""
    stack = make({"c": {"volumes_from": ["b"]}, "b": {"volumes_from": ["a:ro"]}, "a": {}})
    assert start_generations(stack) == [["a"], ["b"], ["c"]]
    assert start_generations(stack, ["c"]) == [["a"], ["b"], ["c"]]


def test_volumes_from_each_other_is_a_cycle_at_load() -> None:
    with pytest.raises(Exception, match=r"dependency cycle detected: a -> b -> a"):
        make({"a": {"volumes_from": ["b"]}, "b": {"volumes_from": ["a:rw"]}})
