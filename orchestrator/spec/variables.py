"""The variables a stack file refers to, with their defaults: what ``config --variables`` prints.

Read from the file before interpolation, with the interpolator's own reading of ``${...}``, so a
default that holds another variable (``${A:-${B}}``) names B too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.spec.interpolate import find_close, is_name_char, is_name_start


@dataclass(frozen=True)
class Variable:
    """One ``${...}`` reference of a stack file, with the fallback or the error its form asks for."""
    name: str
    required: bool = False
    default: str | None = None
    alternate: str | None = None


def variables_in(value: str) -> list[Variable]:
    """Each variable of one string, in order; malformed templates are skipped (loading reports them)."""
    out: list[Variable] = []
    i, n = 0, len(value)
    while True:
        j = value.find("$", i)
        if j < 0 or j + 1 >= n:
            return out
        c = value[j + 1]
        if c == "$":
            i = j + 2
        elif c == "{":
            close = find_close(value, j + 2)
            if close < 0:
                return out
            out.extend(_braced(value[j + 2 : close]))
            i = close + 1
        elif is_name_start(c):
            k = j + 2
            while k < n and is_name_char(value[k]):
                k += 1
            out.append(Variable(value[j + 1 : k]))
            i = k
        else:
            i = j + 1


def _braced(body: str) -> list[Variable]:
    k, n = 0, len(body)
    if n == 0 or not is_name_start(body[0]):
        return []
    while k < n and is_name_char(body[k]):
        k += 1
    name = body[:k]
    if k == n:
        return [Variable(name)]
    op_at = k + 1 if body[k] == ":" else k
    if op_at >= n or body[op_at] not in "-?+":
        return []
    op, rest = body[op_at], body[op_at + 1 :]
    var = {"-": Variable(name, default=rest), "+": Variable(name, alternate=rest), "?": Variable(name, required=True)}
    return [var[op], *variables_in(rest)]


def collect(node: Any) -> dict[str, Variable]:
    """Every variable in the values of a loaded tree (keys are never interpolated), by name; what
    one place says (required, a default, an alternate) is kept when another says nothing."""
    found: dict[str, Variable] = {}

    def walk(n: Any) -> None:
        if isinstance(n, str):
            for v in variables_in(n):
                old = found.get(v.name, Variable(v.name))
                found[v.name] = Variable(v.name, old.required or v.required,
                                         old.default if old.default is not None else v.default,
                                         old.alternate if old.alternate is not None else v.alternate)
        elif isinstance(n, Mapping):
            for child in n.values():
                walk(child)
        elif isinstance(n, list | tuple):
            for child in n:
                walk(child)

    walk(node)
    return dict(sorted(found.items()))
