"""YAML → marked tree: positions, YAML 1.2 scalars, Compose tags, and the hostile-input caps."""

from __future__ import annotations

import math
import time

import pytest

from orchestrator.errors import SpecError
from orchestrator.spec.source import MDict, PositionMap, flatten
from orchestrator.spec.yaml_loader import MAX_DEPTH, MAX_DOCUMENT_BYTES, load_yaml_documents


def load(text: str | bytes) -> tuple[object, PositionMap]:
    docs = load_yaml_documents(text, "f.yaml")
    positions = PositionMap()
    return flatten(docs[0], positions), positions


def test_every_node_has_file_line_column() -> None:
    data, pos = load("services:\n  api:\n    ports:\n      - 80:80\n      - '443:443'\n")
    assert data == {"services": {"api": {"ports": ["80:80", "443:443"]}}}
    p = pos.get(("services", "api", "ports", 1))
    assert p is not None and (p.file, p.line, p.column) == ("f.yaml", 5, 9)
    k = pos.get_key(("services", "api", "ports"))
    assert k is not None and (k.line, k.column) == (3, 5)


def test_missing_path_falls_back_to_nearest_ancestor() -> None:
    _, pos = load("services:\n  api:\n    image: x\n")
    p = pos.get(("services", "api", "ports", 3))
    assert p is not None and (p.line, p.column) == (3, 5)
    err = pos.error(("services", "api", "ports", 3), "bad")
    assert str(err) == "f.yaml:3:5: services.api.ports[3]: bad"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("on", "on"),
        ("no", "no"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("", None),
        ("null", None),
        ("12", 12),
        ("-3", -3),
        ("0x1F", 31),
        ("0o17", 15),
        ("0755", 0o755),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("'12'", "12"),
        ('"true"', "true"),
        ("!!str 12", "12"),
        ("!!int '7'", 7),
        ("2001-12-14", "2001-12-14"),
        ("80:80", "80:80"),
        ("1_000", "1_000"),
    ],
)
def test_scalars_follow_yaml_1_2_core_schema(text: str, value: object) -> None:
    data, _ = load(f"v: {text}\n")
    assert data == {"v": value}


def test_special_floats() -> None:
    data, _ = load("a: .inf\nb: -.inf\nc: .nan\n")
    assert isinstance(data, dict)
    assert data["a"] == math.inf and data["b"] == -math.inf and math.isnan(data["c"])


def test_keys_stay_as_written() -> None:
    data, _ = load("80: a\ntrue: b\n1.0: c\n")
    assert data == {"80": "a", "true": "b", "1.0": "c"}


def test_merge_keys_and_anchors() -> None:
    data, pos = load(
        "x-base: &base\n  image: a\n  environment: {A: '1'}\n"
        "services:\n  one:\n    <<: *base\n    image: b\n  two: *base\n"
    )
    assert isinstance(data, dict)
    assert data["services"]["one"] == {"image": "b", "environment": {"A": "1"}}
    assert data["services"]["two"] == {"image": "a", "environment": {"A": "1"}}
    p = pos.get(("services", "one", "environment", "A"))
    assert p is not None and p.line == 3  # merged values point at the anchor's text


def test_merge_key_list_earlier_wins() -> None:
    data, _ = load("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n")
    assert isinstance(data, dict)
    assert data["c"] == {"x": 1, "y": 1, "z": 3}


def test_aliases_are_independent_copies() -> None:
    docs = load_yaml_documents("a: &a [1]\nb: *a\n", "f.yaml")
    tree = docs[0]
    assert isinstance(tree, MDict)
    tree["b"].append(2)
    assert tree["a"] == [1]


def test_reset_and_override_tags_are_marked_not_loaded() -> None:
    docs = load_yaml_documents("a: !reset []\nb: !override\n  - 1\nc: !reset\n", "f.yaml")
    tree = docs[0]
    assert isinstance(tree, MDict)
    assert tree.tags == {"a": "reset", "b": "override", "c": "reset"}
    assert flatten(tree, PositionMap()) == {"a": [], "b": [1], "c": None}


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['true']\n",
        "a: !!python/name:os.system\n",
        "a: !custom x\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x}\n",
        "a: !!omap [a: 1]\n",
    ],
)
def test_only_standard_tags(text: str) -> None:
    with pytest.raises(SpecError, match="unsupported YAML tag"):
        load_yaml_documents(text, "f.yaml")


def test_duplicate_key_is_an_error_with_position() -> None:
    with pytest.raises(SpecError) as info:
        load_yaml_documents("services:\n  a: {}\n  b: {}\n  a: {}\n", "f.yaml")
    assert str(info.value) == 'f.yaml:4:3: duplicate key "a" (first defined at line 2)'


def test_syntax_error_is_one_line_with_position() -> None:
    with pytest.raises(SpecError) as info:
        load_yaml_documents("services:\n  api:\n    image: [a\n  web: {}\n", "bad.yaml")
    msg = str(info.value)
    assert msg.startswith("bad.yaml:") and "\n" not in msg
    assert info.value.line is not None and info.value.column is not None


def test_billion_laughs_fails_fast() -> None:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for i in range(2, 12):
        name = chr(96 + i)
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    start = time.monotonic()
    with pytest.raises(SpecError, match="alias expansion"):
        load_yaml_documents(text, "bomb.yaml")
    assert time.monotonic() - start < 1.0


def test_recursive_alias_is_an_error() -> None:
    with pytest.raises(SpecError, match="recursive alias"):
        load_yaml_documents("a: &a\n  b: *a\n", "f.yaml")


def test_unknown_alias_is_an_error() -> None:
    with pytest.raises(SpecError, match=r"unknown alias"):
        load_yaml_documents("a: *nope\n", "f.yaml")


def test_deep_nesting_is_refused_not_a_crash() -> None:
    # pyyaml's own C composer segfaults around this depth; we must stop cleanly
    with pytest.raises(SpecError, match="nested deeper"):
        load_yaml_documents("[" * 200_000 + "]" * 200_000, "deep.yaml")
    with pytest.raises(SpecError, match="nested deeper"):
        load_yaml_documents("a: " + "{b: " * (MAX_DEPTH + 5) + "1" + "}" * (MAX_DEPTH + 5), "deep.yaml")


def test_document_size_cap() -> None:
    with pytest.raises(SpecError, match="larger than"):
        load_yaml_documents(b"#" * (MAX_DOCUMENT_BYTES + 1), "huge.yaml")


def test_non_scalar_keys_are_errors() -> None:
    with pytest.raises(SpecError, match="keys must be scalars"):
        load_yaml_documents("? [a, b]\n: 1\n", "f.yaml")


@pytest.mark.parametrize(
    ("data", "line", "column"), [(b"\xff\xfe\x00", 1, 3), (b"a: 1\nb: \x00\n", 2, 4), (b"a: \xc3\x28\n", 1, 5)]
)
def test_bad_encoding_and_control_characters_are_clean_errors(data: bytes, line: int, column: int) -> None:
    with pytest.raises(SpecError) as info:
        load_yaml_documents(data, "f.yaml")
    assert (info.value.line, info.value.column) == (line, column)
    assert "\n" not in str(info.value)


def test_utf8_bom_is_accepted() -> None:
    data, _ = load("\ufeffa: 1\n".encode())
    assert data == {"a": 1}


def test_several_documents() -> None:
    docs = load_yaml_documents("a: 1\n---\nb: 2\n", "f.yaml")
    assert [flatten(d, PositionMap()) for d in docs] == [{"a": 1}, {"b": 2}]


def test_large_stacks_may_share_big_anchors() -> None:
    # 4,000 services merging a 30-key anchor: about 250k expanded nodes, more than the fixed budget
    anchor = "x-d: &d\n" + "".join(f"  k{i}: v{i}\n" for i in range(30))
    services = "services:\n" + "".join(f"  s{i}:\n    <<: *d\n    image: i{i}\n    a: [1, 2, 3]\n" for i in range(4000))
    docs = load_yaml_documents(anchor + services, "big.yaml")
    tree = docs[0]
    assert isinstance(tree, MDict) and len(tree["services"]["s3999"]) == 32


def test_padding_does_not_buy_unbounded_expansion() -> None:
    padding = "pad: [" + ",".join(["1"] * 100_000) + "]\n"
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for i in range(2, 12):
        name = chr(96 + i)
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    with pytest.raises(SpecError, match="alias expansion exceeds 400000"):
        load_yaml_documents(padding + text, "bomb.yaml")


def test_anchored_keys_can_be_aliased() -> None:
    data, _ = load("&k name: 1\nother: *k\n")
    assert data == {"name": 1, "other": "name"}
    with pytest.raises(SpecError, match='duplicate key "name"'):
        load_yaml_documents("&k name: 1\n*k : 2\n", "f.yaml")


def test_explicit_positions_and_tree_positions_combine() -> None:
    from orchestrator.spec.source import Position

    standalone = PositionMap()
    assert standalone.get(("a",)) is None
    standalone.set(("a",), Position("x.yaml", 3, 1))
    assert standalone.get(("a", "b", 0)) == Position("x.yaml", 3, 1)
    _, pos = load("a:\n  b: [1, 2]\n")
    pos.set(("a", "b", 1, "deeper"), Position("y.yaml", 9, 9))
    assert pos.get(("a", "b", 1, "deeper")) == Position("y.yaml", 9, 9)
    assert pos.get(("a", "b", 1)) == Position("f.yaml", 2, 10)
    assert pos.get_key(("a", "b")) == Position("f.yaml", 2, 3)
    assert ("a", "b", 1) in pos.paths() and len(pos) == 6  # root, a, a.b, two items, the explicit one
