"""Cycle detection without networkx, so validating a stack stays cheap to import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle as ``[a, b, c, a]`` (edges dependant → dependency), or None; visits in sorted order."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(deps, WHITE)
    for root in sorted(deps):
        if color[root] != WHITE:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        trail = [root]
        color[root] = GREY
        while stack:
            node, index = stack[-1]
            children = sorted(d for d in deps.get(node, ()) if d in color)
            if index < len(children):
                stack[-1] = (node, index + 1)
                child = children[index]
                if color[child] == GREY:
                    return [*trail[trail.index(child):], child]
                if color[child] == WHITE:
                    color[child] = GREY
                    stack.append((child, 0))
                    trail.append(child)
            else:
                color[node] = BLACK
                stack.pop()
                trail.pop()
    return None
