"""Where each value of a stack file came from, so any later error can point at file:line:column.

Internally a position is a plain ``(file, line, column)`` tuple (:data:`Pos`): a 1,000-service file
has tens of thousands of them and tuples cost a fraction of a dataclass; :class:`Position` is what
callers get back from a :class:`PositionMap`.

While loading, the tree is made of :class:`MDict` / :class:`MList` containers that carry the position
of every child (scalars cannot carry attributes, so their positions live in the parent). Merging,
``extends`` and ``include`` move values around together with their positions; at the end the tree is
flattened into plain dicts/lists and a :class:`PositionMap` keyed by path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import SpecError

Path_ = tuple[str | int, ...]
Pos = tuple[str, int, int]  # (file, line, column), 1-based

RESET = "reset"
OVERRIDE = "override"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a key sits in a stack file, so that an error names the file, line and column."""
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def _public(raw: Pos | None) -> Position | None:
    return None if raw is None else Position(raw[0], raw[1], raw[2])


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
    """Positions of every node of a loaded stack, by path; lookups fall back to the nearest ancestor.

    Positions are read on demand from the marked tree the data was flattened from (a lookup walks
    ``len(path)`` levels), so loading a large file never builds a table of every path; positions
    :meth:`set` explicitly take precedence at the same depth.
    """

    __slots__ = ("_keys", "_root", "_values")

    def __init__(self, root: Any = None) -> None:
        self._values: dict[Path_, Pos] = {}
        self._keys: dict[Path_, Pos] = {}
        self._root = root

    def set(self, path: Path_, pos: Position) -> None:
        self._values[path] = (pos.file, pos.line, pos.column)

    def set_key(self, path: Path_, pos: Position) -> None:
        """Record where the mapping key whose value lives at ``path`` was written."""
        self._keys[path] = (pos.file, pos.line, pos.column)

    def _from_tree(self, path: Path_) -> tuple[int, Pos | None, Pos | None]:
        """(depth reached, deepest value position on the way, key position of the full path)."""
        node = self._root
        best: Pos | None = getattr(node, "pos", None)
        depth = 0
        key_pos: Pos | None = None
        for i, part in enumerate(path):
            if isinstance(node, MDict) and isinstance(part, str) and part in node:
                child = node[part]
                kp = node.kpos.get(part)
                p = node.vpos.get(part) or kp
                if i == len(path) - 1:
                    key_pos = kp
            elif isinstance(node, MList) and isinstance(part, int) and 0 <= part < len(node):
                child = node[part]
                p = node.ipos[part] if part < len(node.ipos) else None
            elif isinstance(node, MList) and isinstance(part, str) and (index := _named_item(node, part)) >= 0:
                child = node[index]
                p = node.ipos[index] if index < len(node.ipos) else None
            else:
                break
            if p is None and isinstance(child, MDict | MList):
                p = child.pos
            if p is not None:
                best, depth = p, i + 1
            node = child
        return depth, best, key_pos

    def _raw(self, path: Path_) -> Pos | None:
        depth, best, _ = self._from_tree(path) if self._root is not None else (0, None, None)
        values = self._values
        if values:
            for end in range(len(path), depth - 1, -1):
                raw = values.get(path[:end])
                if raw is not None:
                    return raw
        return best

    def get(self, path: Path_) -> Position | None:
        """Position of the value at ``path``, else of its nearest ancestor that has one."""
        return _public(self._raw(path))

    def get_key(self, path: Path_) -> Position | None:
        """Position of the key naming ``path`` (for "unknown key" errors), else as :meth:`get`."""
        raw = self._keys.get(path)
        if raw is None and self._root is not None and path:
            raw = self._from_tree(path)[2]
        return _public(raw) if raw is not None else self.get(path)

    def paths(self) -> list[Path_]:
        """Every path that has a known position (for tools and tests)."""
        out = set(self._values)
        if self._root is not None:
            out.update(p for p, _ in _walk(self._root, ()))
        return sorted(out, key=lambda p: tuple(str(x) for x in p))

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
        return len(self.paths())


def _named_item(items: MList, name: str) -> int:
    """The index of the list item a normalized mapping key came from, or -1.

    The list forms of ``depends_on``, ``networks``, ``links``, ``environment``... become mappings
    keyed by the item's name (the text before ``:`` or ``=``), and checks name that key; the item
    is where the user wrote it.
    """
    for i, item in enumerate(items):
        if isinstance(item, str) and (item == name or re.split("[:=]", item, maxsplit=1)[0] == name):
            return i
    return -1


def _walk(node: Any, path: Path_) -> Any:
    """(path, node) for every node of a marked tree."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))


def error_at(pos: Pos | None, message: str, path: Path_ = ()) -> SpecError:
    """A SpecError located at ``pos`` (when known) naming the dotted key of ``path``."""
    return SpecError(
        message,
        file=pos[0] if pos else None,
        line=pos[1] if pos else None,
        column=pos[2] if pos else None,
        key=key_string(path) or None,
    )


class MDict(dict[str, Any]):
    """A mapping that remembers where it, each key and each value was written, and any merge tag."""

    __slots__ = ("kpos", "pos", "tags", "vpos")

    def __init__(self, pos: Pos | None = None) -> None:
        super().__init__()
        self.pos = pos
        self.kpos: dict[str, Pos] = {}
        self.vpos: dict[str, Pos] = {}
        self.tags: dict[str, str] = {}

    def put(self, key: str, value: Any, vpos: Pos | None, kpos: Pos | None = None) -> None:
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

    def where(self, key: str) -> Pos | None:
        return self.vpos.get(key) or self.kpos.get(key) or self.pos


class MList(list[Any]):
    """A sequence that remembers where it and each item were written."""

    __slots__ = ("ipos", "pos")

    def __init__(self, pos: Pos | None = None) -> None:
        super().__init__()
        self.pos = pos
        self.ipos: list[Pos | None] = []

    def add(self, value: Any, pos: Pos | None) -> None:
        self.append(value)
        self.ipos.append(pos)

    def where(self, index: int) -> Pos | None:
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


def flatten(value: Any, positions: PositionMap) -> Any:
    """Plain dict/list values of a marked tree; ``positions`` will answer from the tree itself."""
    positions._root = value
    return plain(value)


def plain(value: Any) -> Any:
    """A plain copy (dict/list/scalars) of a marked tree, without positions."""
    if isinstance(value, dict):
        return {k: plain(v) if isinstance(v, dict | list) else v for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) if isinstance(v, dict | list) else v for v in value]
    return value
