"""The services' dependency graph and the orders derived from it.

An edge goes from a dependant to its dependency, for each of depends_on, links, volumes_from and
``service:x`` in network_mode, ipc and pid. Start order is the topological generations with
dependencies first (one generation starts in parallel); stop order is its reverse.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from orchestrator.errors import SpecError
from orchestrator.spec.models import Stack


def dependency_graph(stack: Stack) -> nx.DiGraph:
    """Edges carry ``kinds`` (the keys that made them); a cycle or self-dependency is a SpecError."""
    graph = nx.DiGraph()
    graph.add_nodes_from(sorted(stack.services))
    for name in sorted(stack.services):
        svc = stack.services[name]
        for dep, kind in svc.dependencies().items():
            if dep not in stack.services:
                continue  # optional (required: false) and disabled, or reported by validation
            if dep == name:
                raise SpecError(f"service {name!r} depends on itself", key=f"services.{name}.{kind}")
            cond = svc.depends_on[dep].condition if dep in svc.depends_on else "service_started"
            graph.add_edge(name, dep, kind=kind, condition=cond)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    nodes = [edge[0] for edge in cycle]
    raise SpecError("dependency cycle detected: " + " -> ".join([*nodes, nodes[0]]),
                    key=f"services.{nodes[0]}")


def _closure(graph: nx.DiGraph, targets: Sequence[str]) -> set[str]:
    unknown = [t for t in targets if t not in graph]
    if unknown:
        raise SpecError(f"no such service: {', '.join(unknown)}")
    wanted = set(targets)
    for target in targets:
        wanted |= nx.descendants(graph, target)
    return wanted


def start_generations(stack: Stack, targets: Sequence[str] = ()) -> list[list[str]]:
    """Dependencies first; with targets, only they and what they need (transitively)."""
    graph = dependency_graph(stack)
    if targets:
        graph = graph.subgraph(_closure(graph, targets))
    generations = [sorted(g) for g in nx.topological_generations(graph.reverse(copy=False))]
    return generations


def stop_generations(stack: Stack, targets: Sequence[str] = ()) -> list[list[str]]:
    """Dependants first: exactly the start generations reversed.

    With targets, the targets and every service that depends on them (stopping a database stops
    its clients first)."""
    graph = dependency_graph(stack)
    if targets:
        unknown = [t for t in targets if t not in graph]
        if unknown:
            raise SpecError(f"no such service: {', '.join(unknown)}")
        wanted = set(targets)
        for target in targets:
            wanted |= nx.ancestors(graph, target)
        graph = graph.subgraph(wanted)
    return [sorted(g) for g in reversed(list(nx.topological_generations(graph.reverse(copy=False))))]
