"""Compose variable interpolation: ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``, ``${VAR:?e}``,
``${VAR?e}``, ``${VAR:+x}``, ``${VAR+x}``, nesting inside the modifier text, and ``$$`` for a literal ``$``.

A hand-written scanner rather than a regex: defaults may contain further ``${...}`` and are only
evaluated when used (so a ``:?`` inside an unused default does not fire). Anything else after a
``$`` is an error, as in Compose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from orchestrator.spec.source import MDict, MList, Path_, error_at

Lookup = Callable[[str], str | None]

MAX_NESTING = 32  # ${A:-${B:-...}} levels; deeper templates are refused, not recursed into


class InterpolationError(ValueError):
    """A template that cannot be evaluated; the caller adds the position."""


class MissingRequired(InterpolationError):
    """``${VAR:?msg}`` / ``${VAR?msg}`` on a missing variable."""


def is_name_start(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def is_name_char(c: str) -> bool:
    return is_name_start(c) or ("0" <= c <= "9")


_BRACES = re.compile(r"\$\$|\$\{|\}")


def find_close(s: str, start: int) -> int:
    """Index of the ``}`` closing a ``${`` whose body starts at ``start`` (nested ``${`` counted)."""
    depth = 1
    for m in _BRACES.finditer(s, start):
        tok = m.group()
        if tok == "${":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth == 0:
                return m.start()
    return -1


def interpolate(value: str, lookup: Lookup, *, on_missing: Callable[[str], None]) -> str:
    """Substitute every variable in ``value``; raise :class:`InterpolationError` on a bad template."""
    return _interpolate(value, lookup, on_missing, 0)


def _interpolate(value: str, lookup: Lookup, on_missing: Callable[[str], None], depth: int) -> str:
    if "$" not in value:
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        j = value.find("$", i)
        if j < 0:
            out.append(value[i:])
            break
        out.append(value[i:j])
        if j + 1 >= n:
            raise InterpolationError(f'invalid interpolation format in "{value}": a lone "$" (write $$)')
        c = value[j + 1]
        if c == "$":
            out.append("$")
            i = j + 2
        elif c == "{":
            close = find_close(value, j + 2)
            if close < 0:
                raise InterpolationError(f'invalid interpolation format in "{value}": missing "}}"')
            if depth >= MAX_NESTING:
                raise InterpolationError(f"variables nested more than {MAX_NESTING} levels deep")
            out.append(_braced(value[j + 2 : close], value, lookup, on_missing, depth + 1))
            i = close + 1
        elif is_name_start(c):
            k = j + 2
            while k < n and is_name_char(value[k]):
                k += 1
            name = value[j + 1 : k]
            found = lookup(name)
            if found is None:
                on_missing(name)
                found = ""
            out.append(found)
            i = k
        else:
            raise InterpolationError(
                f'invalid interpolation format in "{value}": "${c}" is not a variable (write $$ for a "$")'
            )
    return "".join(out)


def _braced(body: str, whole: str, lookup: Lookup, on_missing: Callable[[str], None], depth: int) -> str:
    k, n = 0, len(body)
    if n == 0 or not is_name_start(body[0]):
        raise InterpolationError(f'invalid interpolation format in "{whole}": "${{{body}}}"')
    while k < n and is_name_char(body[k]):
        k += 1
    name = body[:k]
    found = lookup(name)
    if k == n:
        if found is None:
            on_missing(name)
            return ""
        return found
    colon = body[k] == ":"
    op_at = k + 1 if colon else k
    if op_at >= n or body[op_at] not in "-?+":
        raise InterpolationError(f'invalid interpolation format in "{whole}": "${{{body}}}" is not supported')
    op = body[op_at]
    rest = body[op_at + 1 :]
    unset = found is None or (colon and found == "")
    if op == "-":
        return _interpolate(rest, lookup, on_missing, depth) if unset else found  # type: ignore[return-value]
    if op == "+":
        return "" if unset else _interpolate(rest, lookup, on_missing, depth)
    if unset:
        detail = _interpolate(rest, lookup, on_missing, depth) if rest else ""
        message = f"required variable {name} is missing a value"
        raise MissingRequired(f"{message}: {detail}" if detail else message)
    return found  # type: ignore[return-value]


def interpolate_tree(node: Any, lookup: Lookup, on_missing: Callable[[str], None], path: Path_ = ()) -> None:
    """Interpolate, in place, every string value of a marked tree (keys are left alone, as in Compose)."""
    if isinstance(node, MDict):
        for k, v in node.items():
            if isinstance(v, str):
                if "$" in v:
                    try:
                        node[k] = interpolate(v, lookup, on_missing=on_missing)
                    except InterpolationError as err:
                        raise error_at(node.where(k), str(err), (*path, k)) from None
            elif isinstance(v, MDict | MList):
                interpolate_tree(v, lookup, on_missing, (*path, k))
    elif isinstance(node, MList):
        for i, v in enumerate(node):
            if isinstance(v, str):
                if "$" in v:
                    try:
                        node[i] = interpolate(v, lookup, on_missing=on_missing)
                    except InterpolationError as err:
                        raise error_at(node.where(i), str(err), (*path, i)) from None
            elif isinstance(v, MDict | MList):
                interpolate_tree(v, lookup, on_missing, (*path, i))
