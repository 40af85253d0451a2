"""Where each value of a stack file came from, so any later error can point at file:line:column.

While loading, the tree is made of :class:`MDict` / :class:`MList` containers that carry the position
of every child (scalars cannot carry attributes, so their positions live in the parent). Merging,
``extends`` and ``include`` move values around together with their positions; at the end the tree is
flattened into plain dicts/lists and a :class:`PositionMap` keyed by path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.errors import SpecError

Path_ = tuple[str | int, ...]

RESET = "reset"
OVERRIDE = "override"


@dataclass(frozen=True, slots=True)
class Position:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def key_string(path: Path_) -> str:
    """Render a path the way users read it: ``services.api.ports[1]``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            if out:
                out.append(".")
            out.append(part)
    return "".join(out)


class PositionMap:
    """Positions of every node of a loaded stack, by path; lookups fall back to the nearest ancestor."""

    __slots__ = ("_keys", "_values")

    def __init__(self) -> None:
        self._values: dict[Path_, Position] = {}
        self._keys: dict[Path_, Position] = {}

    def set(self, path: Path_, pos: Position) -> None:
        self._values[path] = pos

    def set_key(self, path: Path_, pos: Position) -> None:
        """Record where the mapping key whose value lives at ``path`` was written."""
        self._keys[path] = pos

    def get(self, path: Path_) -> Position | None:
        """Position of the value at ``path``, else of its nearest ancestor that has one."""
        values = self._values
        for end in range(len(path), -1, -1):
            pos = values.get(path[:end])
            if pos is not None:
                return pos
        return None

    def get_key(self, path: Path_) -> Position | None:
        """Position of the key naming ``path`` (for "unknown key" errors), else as :meth:`get`."""
        pos = self._keys.get(path)
        return pos if pos is not None else self.get(path)

    def error(self, path: Path_, message: str, *, at_key: bool = False) -> SpecError:
        pos = self.get_key(path) if at_key else self.get(path)
        return SpecError(
            message,
            file=pos.file if pos else None,
            line=pos.line if pos else None,
            column=pos.column if pos else None,
            key=key_string(path) or None,
        )

    def __len__(self) -> int:
        return len(self._values)


def error_at(pos: Position | None, message: str, path: Path_ = ()) -> SpecError:
    """A SpecError located at ``pos`` (when known) naming the dotted key of ``path``."""
    return SpecError(
        message,
        file=pos.file if pos else None,
        line=pos.line if pos else None,
        column=pos.column if pos else None,
        key=key_string(path) or None,
    )


class MDict(dict[str, Any]):
    """A mapping that remembers where it, each key and each value was written, and any merge tag."""

    __slots__ = ("kpos", "pos", "tags", "vpos")

    def __init__(self, pos: Position | None = None) -> None:
        super().__init__()
        self.pos = pos
        self.kpos: dict[str, Position] = {}
        self.vpos: dict[str, Position] = {}
        self.tags: dict[str, str] = {}

    def put(self, key: str, value: Any, vpos: Position | None, kpos: Position | None = None) -> None:
        self[key] = value
        if vpos is not None:
            self.vpos[key] = vpos
        if kpos is not None:
            self.kpos[key] = kpos

    def copy_entry(self, src: MDict, key: str, value: Any = None, *, use_value: bool = False) -> None:
        """Copy ``src[key]`` (or ``value``) into self together with its positions (not its tag)."""
        self[key] = value if use_value else src[key]
        vp = src.vpos.get(key)
        if vp is not None:
            self.vpos[key] = vp
        kp = src.kpos.get(key)
        if kp is not None:
            self.kpos[key] = kp

    def where(self, key: str) -> Position | None:
        return self.vpos.get(key) or self.kpos.get(key) or self.pos


class MList(list[Any]):
    """A sequence that remembers where it and each item were written."""

    __slots__ = ("ipos", "pos")

    def __init__(self, pos: Position | None = None) -> None:
        super().__init__()
        self.pos = pos
        self.ipos: list[Position | None] = []

    def add(self, value: Any, pos: Position | None) -> None:
        self.append(value)
        self.ipos.append(pos)

    def where(self, index: int) -> Position | None:
        if 0 <= index < len(self.ipos):
            return self.ipos[index] or self.pos
        return self.pos


def clone(value: Any) -> Any:
    """Deep copy of a marked tree keeping positions and tags (aliases and shared bases must not alias)."""
    if isinstance(value, MDict):
        out = MDict(value.pos)
        for k, v in value.items():
            out[k] = clone(v)
        out.kpos = dict(value.kpos)
        out.vpos = dict(value.vpos)
        out.tags = dict(value.tags)
        return out
    if isinstance(value, MList):
        lst = MList(value.pos)
        lst.extend(clone(v) for v in value)
        lst.ipos = list(value.ipos)
        return lst
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def count_nodes(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(count_nodes(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(count_nodes(v) for v in value)
    return 1


def flatten(value: Any, positions: PositionMap, path: Path_ = (), pos: Position | None = None) -> Any:
    """Turn a marked tree into plain dict/list values, recording every position under its path."""
    if pos is not None:
        positions.set(path, pos)
    if isinstance(value, MDict):
        if value.pos is not None and pos is None:
            positions.set(path, value.pos)
        out: dict[str, Any] = {}
        vpos, kpos = value.vpos, value.kpos
        for k, v in value.items():
            sub = (*path, k)
            kp = kpos.get(k)
            if kp is not None:
                positions.set_key(sub, kp)
            out[k] = flatten(v, positions, sub, vpos.get(k) or kp)
        return out
    if isinstance(value, MList):
        if value.pos is not None and pos is None:
            positions.set(path, value.pos)
        ipos = value.ipos
        n = len(ipos)
        return [flatten(v, positions, (*path, i), ipos[i] if i < n else None) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: flatten(v, positions, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [flatten(v, positions, (*path, i)) for i, v in enumerate(value)]
    return value
