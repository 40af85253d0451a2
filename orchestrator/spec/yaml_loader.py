"""YAML text → marked tree (:mod:`orchestrator.spec.source`), safe against hostile input.

We compose the tree ourselves from libyaml's event stream instead of using pyyaml's composer:
it keeps file/line/column for every node, is about twice as fast (no Python resolver call per
scalar), and lets us bound what an attacker can make us do. pyyaml's C composer recurses in C and
segfaults on deeply nested flow collections; here nesting depth, alias expansion and document
size are all capped, and only the standard tags (plus Compose's ``!reset`` / ``!override``) load.

Scalars are resolved with the YAML 1.2 core schema, as Compose (go-yaml v3) does: ``yes``/``on``
stay strings, ``true``/``false`` are booleans.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from orchestrator.errors import SpecError
from orchestrator.spec.source import OVERRIDE, RESET, MDict, MList, Pos, clone

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# Nodes materialised by alias expansion over a whole document: at least MAX_ALIAS_NODES, or ten
# times the nodes actually written (big stacks sharing ``<<: *defaults``), never above the hard cap,
# so the work stays proportional to the input however the anchors are nested.
MAX_ALIAS_NODES = 200_000
MAX_ALIAS_NODES_HARD = 400_000
ALIAS_RATIO = 10
MAX_DEPTH = 100  # far beyond any stack file; keeps every later recursive walk well inside Python's limit

_BaseLoader: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

_T = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = _T + "str", _T + "int", _T + "float", _T + "bool", _T + "null"
_MAP, _SEQ, _MERGE, _TIMESTAMP = _T + "map", _T + "seq", _T + "merge", _T + "timestamp"
_SCALAR_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP, "!"}
_COMPOSE_TAGS = {"!reset": RESET, "!override": OVERRIDE}

_INT_RE = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INF = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}
_NINF = {"-.inf", "-.Inf", "-.INF"}
_NAN = {".nan", ".NaN", ".NAN"}


def resolve_plain(text: str) -> Any:
    """The value of an untagged plain scalar under the YAML 1.2 core schema."""
    if text in _NULLS:
        return None
    first = text[0]
    if first in "tTfF":
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return text
    if first in "0123456789+-.":
        if _INT_RE.match(text):
            if len(text) > 1 and text[0] == "0" and text.isdigit() and set(text) <= set("01234567"):
                return int(text, 8)  # go-yaml still reads 0755 as octal (file modes)
            return int(text, 10)
        lower = text.lower()
        if lower.startswith(("0x", "0o", "0b")) and len(text) > 2:
            try:
                return int(text, 0)
            except ValueError:
                return text
        if _FLOAT_RE.match(text):
            return float(text)
        if text in _INF:
            return math.inf
        if text in _NINF:
            return -math.inf
        if text in _NAN:
            return math.nan
    return text


def _fail(name: str, mark: Any, message: str) -> SpecError:
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    return SpecError(message, file=name, line=line, column=col)


def _pos(name: str, mark: Any) -> Pos:
    return (name, mark.line + 1, mark.column + 1)


def _explicit_scalar(name: str, ev: Any) -> Any:
    tag, text = ev.tag, ev.value
    if tag in (_STR, "!", _TIMESTAMP):
        return text
    try:
        if tag == _INT:
            return int(text.replace("_", ""), 0)
        if tag == _FLOAT:
            v = resolve_plain(text)
            return float(v)
    except (ValueError, TypeError):
        raise _fail(name, ev.start_mark, f"invalid {tag[len(_T) :]} value {text!r}") from None
    if tag == _BOOL:
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise _fail(name, ev.start_mark, f"invalid bool value {text!r}")
    if tag == _NULL:
        return None
    raise _fail(name, ev.start_mark, f"unsupported YAML tag {tag}")


class _Frame:
    """One open collection while composing."""

    __slots__ = ("anchor", "container", "is_map", "key", "kpos", "ktag", "merges", "own_tag", "start_nodes")

    def __init__(self, container: MDict | MList, is_map: bool, anchor: str | None, start_nodes: int) -> None:
        self.container = container
        self.is_map = is_map
        self.anchor = anchor
        self.key: str | None = None
        self.kpos: Pos | None = None
        self.ktag: str | None = None
        self.merges: list[tuple[Any, Pos]] | None = None
        self.own_tag: str | None = None  # !reset / !override on this collection, applied when attached
        self.start_nodes = start_nodes


class _Composer:
    def __init__(self, name: str) -> None:
        self.name = name
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.alias_nodes = 0
        self.nodes = 0
        self.written = 0  # nodes present in the text itself

    def _check_tag(self, ev: Any, collection_tag: str | None) -> str | None:
        """Validate a node's tag; return the Compose merge marker it carries, if any."""
        tag = ev.tag
        if tag is None or tag == "!":
            return None
        if tag in _COMPOSE_TAGS:
            return _COMPOSE_TAGS[tag]
        if collection_tag is not None:
            if tag != collection_tag:
                raise _fail(self.name, ev.start_mark, f"unsupported YAML tag {tag}")
            return None
        if tag not in _SCALAR_TAGS:
            raise _fail(self.name, ev.start_mark, f"unsupported YAML tag {tag}")
        return None

    def compose_document(self, loader: Any) -> Any:
        """Compose one document whose DocumentStartEvent has been consumed."""
        name = self.name
        stack: list[_Frame] = []
        root: Any = None
        get_event = loader.get_event
        ScalarEvent, AliasEvent = yaml.ScalarEvent, yaml.AliasEvent
        MappingStartEvent, SequenceStartEvent = yaml.MappingStartEvent, yaml.SequenceStartEvent
        MappingEndEvent = yaml.MappingEndEvent
        while True:
            ev = get_event()
            cls = type(ev)
            tag_marker: str | None = None
            if cls is ScalarEvent:
                self.nodes += 1
                self.written += 1
                tag = ev.tag
                if stack and stack[-1].is_map and stack[-1].key is None:
                    # a key: its text is the key, so no resolution (only a tag check)
                    if tag is not None and tag not in ("!", _STR) and self._check_tag(ev, None) is None:
                        _explicit_scalar(name, ev)
                    if ev.anchor is not None:
                        self.anchors[ev.anchor] = (ev.value, 1)
                    self._take_key(stack[-1], ev, None, None)
                    continue
                if tag is None:
                    value: Any = ev.value if ev.style else resolve_plain(ev.value)
                elif tag == "!":
                    value = ev.value
                else:
                    tag_marker = self._check_tag(ev, None)
                    if tag_marker is not None:
                        value = resolve_plain(ev.value) if not ev.style else ev.value
                    else:
                        value = _explicit_scalar(name, ev)
                if ev.anchor is not None:
                    self.anchors[ev.anchor] = (value, 1)
                mark = ev.start_mark
                pos = (name, mark.line + 1, mark.column + 1)
            elif cls is AliasEvent:
                anchor = ev.anchor
                if anchor in self.open_anchors:
                    raise _fail(name, ev.start_mark, f"recursive alias *{anchor}")
                found = self.anchors.get(anchor)
                if found is None:
                    raise _fail(name, ev.start_mark, f"unknown alias *{anchor}")
                value, size = found
                pos = _pos(name, ev.start_mark)
                if stack and stack[-1].is_map and stack[-1].key is None:
                    if isinstance(value, MDict | MList):
                        raise _fail(name, ev.start_mark, "mapping keys must be scalars")
                    self._take_key(stack[-1], ev, value, None, alias=True)
                    continue
                self.alias_nodes += size
                limit = min(MAX_ALIAS_NODES_HARD, max(MAX_ALIAS_NODES, ALIAS_RATIO * self.written))
                if self.alias_nodes > limit:
                    raise _fail(name, ev.start_mark, f"alias expansion exceeds {limit} nodes (billion laughs?)")
                self.nodes += size
                if isinstance(value, MDict | MList):
                    value = clone(value)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                is_map = cls is MappingStartEvent
                if stack and stack[-1].is_map and stack[-1].key is None:
                    raise _fail(name, ev.start_mark, "mapping keys must be scalars")
                tag_marker = self._check_tag(ev, _MAP if is_map else _SEQ)
                if len(stack) >= MAX_DEPTH:
                    raise _fail(name, ev.start_mark, f"document nested deeper than {MAX_DEPTH} levels")
                self.nodes += 1
                self.written += 1
                pos = _pos(name, ev.start_mark)
                container: MDict | MList = MDict(pos) if is_map else MList(pos)
                if ev.anchor is not None:
                    self.open_anchors.add(ev.anchor)
                frame = _Frame(container, is_map, ev.anchor, self.nodes)
                frame.own_tag = tag_marker
                stack.append(frame)
                continue
            elif cls is MappingEndEvent or cls is yaml.SequenceEndEvent:
                frame = stack.pop()
                value = frame.container
                if isinstance(value, MDict) and frame.merges:
                    value = self._apply_merges(value, frame.merges)
                if frame.anchor is not None:
                    self.open_anchors.discard(frame.anchor)
                    self.anchors[frame.anchor] = (value, self.nodes - frame.start_nodes + 1)
                pos = value.pos
                tag_marker = frame.own_tag
            else:  # DocumentEndEvent: the document is complete
                return root
            if not stack:
                root = value
                # the DocumentEndEvent follows
                continue
            parent = stack[-1]
            if parent.is_map:
                key = parent.key
                assert key is not None
                if key == "<<" and parent.ktag == _MERGE:
                    if parent.merges is None:
                        parent.merges = []
                    parent.merges.append((value, pos))
                else:
                    c: Any = parent.container
                    c[key] = value
                    c.vpos[key] = pos
                    kp = parent.kpos
                    if kp is not None:
                        c.kpos[key] = kp
                    if tag_marker is not None:
                        c.tags[key] = tag_marker
                parent.key = None
                parent.ktag = None
            else:
                lst: Any = parent.container
                lst.append(value)
                lst.ipos.append(pos)

    def _take_key(self, frame: _Frame, ev: Any, value: Any, tag: str | None, alias: bool = False) -> None:
        """Keys stay the text that was written (Compose keys are strings, even ``80`` or ``true``)."""
        if not alias:
            key = ev.value
        elif isinstance(value, bool):
            key = "true" if value else "false"
        else:
            key = "" if value is None else str(value)
        if not alias and key == "<<" and ev.tag is None and not ev.style:
            frame.key, frame.ktag = key, _MERGE
            frame.kpos = _pos(self.name, ev.start_mark)
            return
        container = frame.container
        if key in container:
            first = container.kpos.get(key)  # type: ignore[union-attr]
            where = f" (first defined at line {first[1]})" if first else ""
            raise _fail(self.name, ev.start_mark, f'duplicate key "{key}"{where}')
        frame.key = key
        frame.kpos = _pos(self.name, ev.start_mark)
        frame.ktag = None

    def _apply_merges(self, explicit: MDict, merges: list[tuple[Any, Pos]]) -> MDict:
        """YAML merge keys: merged entries first, explicit keys override, earlier merges win."""
        sources: list[MDict] = []
        for value, pos in merges:
            if isinstance(value, MDict):
                sources.append(value)
            elif isinstance(value, MList) and all(isinstance(v, MDict) for v in value):
                sources.extend(value)
            else:
                raise SpecError(
                    "merge key << needs a mapping or a list of mappings",
                    file=pos[0],
                    line=pos[1],
                    column=pos[2],
                )
        out = MDict(explicit.pos)
        for src in sources:
            for k in src:
                if k not in out and k not in explicit:
                    out.copy_entry(src, k)
                    if k in src.tags:
                        out.tags[k] = src.tags[k]
        for k in explicit:
            out.copy_entry(explicit, k)
            if k in explicit.tags:
                out.tags[k] = explicit.tags[k]
        return out


def load_yaml_documents(data: bytes | str, name: str) -> list[Any]:
    """Compose every document of ``data``; errors are one-line SpecErrors at file:line:column."""
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > MAX_DOCUMENT_BYTES:
        raise SpecError(f"file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB", file=name)
    loader = _BaseLoader(data)
    composer = _Composer(name)
    docs: list[Any] = []
    try:
        loader.get_event()  # StreamStart
        while True:
            ev = loader.get_event()
            if isinstance(ev, yaml.StreamEndEvent):
                break
            composer.anchors.clear()
            docs.append(composer.compose_document(loader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        parts = [p for p in (err.context, err.problem) if p]
        raise _fail(name, mark, "invalid YAML: " + " ".join(" ".join(parts).split())) from None
    except yaml.reader.ReaderError as err:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        at = max(0, min(int(err.position), len(raw)))
        line = raw.count(b"\n", 0, at) + 1
        column = at - (raw.rfind(b"\n", 0, at) + 1) + 1
        char = err.character
        what = f" ({char!r})" if isinstance(char, str) else f" (byte {char:#04x})" if char >= 0 else ""
        raise SpecError(f"invalid YAML: {err.reason}{what}", file=name, line=line, column=column) from None
    except yaml.YAMLError as err:
        raise SpecError("invalid YAML: " + " ".join(str(err).split()), file=name) from None
    except RecursionError:
        raise SpecError("document nested too deeply", file=name) from None
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()
    return docs


__all__ = ["MAX_ALIAS_NODES", "MAX_DEPTH", "MAX_DOCUMENT_BYTES", "load_yaml_documents", "resolve_plain"]
