"""Text forms of a dependency graph (edges dependant → dependency). Pure, except ``render_svg``."""

from __future__ import annotations

import json
from typing import Any


def render_tree(graph: Any, name: str = "") -> str:
    """Roots (services nothing depends on) at the left; each dependency indented below its dependant."""
    lines: list[str] = []
    expanded: set[str] = set()

    def walk(node: str, prefix: str, last: bool, label: str, depth: int) -> None:
        branch = "" if depth == 0 else ("└── " if last else "├── ")
        children = sorted(graph.successors(node))
        seen = node in expanded and children
        lines.append(f"{prefix}{branch}{node}{f' ({label})' if label else ''}{' …' if seen else ''}")
        if seen:
            return
        expanded.add(node)
        child_prefix = prefix if depth == 0 else prefix + ("    " if last else "│   ")
        for i, child in enumerate(children):
            walk(child, child_prefix, i == len(children) - 1, graph.edges[node, child].get("kind", ""), depth + 1)

    roots = sorted(n for n in graph.nodes if graph.in_degree(n) == 0)
    for root in roots:
        walk(root, "", True, "", 0)
    return "".join(f"{line}\n" for line in lines)


def render_dot(graph: Any, name: str = "") -> str:
    out = [f"digraph {json.dumps(name or 'stack')} {{", "  rankdir=LR;", "  node [shape=box];"]
    for node in sorted(graph.nodes):
        out.append(f"  {json.dumps(node)};")
    for src, dst in sorted(graph.edges):
        label = graph.edges[src, dst].get("kind", "")
        out.append(f"  {json.dumps(src)} -> {json.dumps(dst)} [label={json.dumps(label)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def render_mermaid(graph: Any, name: str = "") -> str:
    ids = {node: f"s{i}" for i, node in enumerate(sorted(graph.nodes))}
    out = ["graph TD"]
    for node, ident in ids.items():
        out.append(f'  {ident}["{node}"]')
    for src, dst in sorted(graph.edges):
        label = graph.edges[src, dst].get("kind", "")
        out.append(f"  {ids[src]} -->|{label}| {ids[dst]}")
    return "\n".join(out) + "\n"


def render_svg(graph: Any, name: str, output: str) -> None:
    import shutil
    import subprocess

    from orchestrator.errors import PystackError

    dot = shutil.which("dot")
    if dot is None:
        raise PystackError("--format svg needs Graphviz's dot (apt-get install graphviz)")
    result = subprocess.run([dot, "-Tsvg", "-o", output], input=render_dot(graph, name).encode(),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise PystackError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
