"""Positions survive loading: every node of a loaded tree has one, and it points at the node's text."""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.spec.source import PositionMap, flatten, key_string
from orchestrator.spec.yaml_loader import load_yaml_documents

_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda w: w not in ("true", "false", "null")
)
_leaves = st.one_of(_words, st.integers(-1000, 1000), st.booleans())
_trees = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4), st.dictionaries(_words, inner, min_size=1, max_size=4)
    ),
    max_leaves=30,
)


def _walk(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    out = [(path, value)]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _walk(v, (*path, i))
    return out


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(_words, _trees, min_size=1, max_size=5), st.booleans())
def test_round_trip_and_every_scalar_is_located(tree: dict[str, Any], flow: bool) -> None:
    text = yaml.safe_dump(tree, default_flow_style=flow, sort_keys=False, width=10_000)
    lines = text.splitlines()
    positions = PositionMap()
    loaded = flatten(load_yaml_documents(text, "t.yaml")[0], positions)
    assert loaded == tree
    for path, value in _walk(tree):
        pos = positions.get(path)
        assert pos is not None and pos.file == "t.yaml", key_string(path)
        if path and not isinstance(value, dict | list):
            line = lines[pos.line - 1]
            shown = json.dumps(value) if isinstance(value, bool) else str(value)
            text_at = line[pos.column - 1 :]
            if text_at[:1] in ("'", '"'):  # a quoted scalar starts at its quote
                text_at = text_at[1:]
            assert text_at.startswith(shown), (key_string(path), line, pos)
