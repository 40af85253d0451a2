"""``extends``: same file, other files, nesting, relative paths, cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import SpecError
from tests.unit.spec_loader.helpers import load


def test_same_file_short_and_long_form(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": """
            services:
              base: {image: a, environment: {A: '1'}}
              one: {extends: base, environment: {B: '2'}}
              two:
                extends: {service: one}
                image: b
            """
        },
        "compose.yaml",
    )
    s = p.data["services"]
    assert s["one"] == {"image": "a", "environment": {"A": "1", "B": "2"}}
    assert s["two"] == {"image": "b", "environment": {"A": "1", "B": "2"}}
    assert "extends" not in s["one"] and "extends" not in s["two"]


def test_other_file_paths_resolve_against_the_extended_file(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": """
            services:
              web:
                extends: {file: lib/common.yaml, service: app}
                volumes: ['./local:/local']
            """,
            "lib/common.yaml": """
            services:
              app:
                build: ./ctx
                env_file: [app.env, {path: opt.env, required: false}]
                volumes: ['./data:/data', 'named:/named', '/abs:/abs', {type: bind, source: ./src, target: /src}]
            """,
        },
        "compose.yaml",
    )
    lib = tmp_path / "lib"
    web = p.data["services"]["web"]
    assert web["build"] == str(lib / "ctx")
    assert web["env_file"] == [str(lib / "app.env"), {"path": str(lib / "opt.env"), "required": False}]
    assert web["volumes"] == [
        f"{lib / 'data'}:/data",
        "named:/named",
        "/abs:/abs",
        {"type": "bind", "source": str(lib / "src"), "target": "/src"},
        "./local:/local",
    ]


def test_nested_files(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": "services:\n  t:\n    extends: {file: a/one.yaml, service: t}\n",
            "a/one.yaml": "services:\n  t:\n    extends: {file: b/two.yaml, service: t}\n    user: one\n",
            "a/b/two.yaml": "services:\n  t:\n    image: two\n    build: .\n",
        },
        "compose.yaml",
    )
    assert p.data["services"]["t"] == {"image": "two", "build": str(tmp_path / "a" / "b"), "user": "one"}


def test_reset_in_extending_service(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": "services:\n  i: {image: x, command: run, ports: ['1:1']}\n"
            "  b:\n    extends: i\n    command: !reset\n    ports: !override ['2:2']\n"
        },
        "compose.yaml",
    )
    assert p.data["services"]["b"] == {"image": "x", "ports": ["2:2"]}


def test_merge_rules_apply(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": "services:\n  i: {image: x, ports: ['80:80'], command: [a]}\n"
            "  b: {extends: i, ports: ['80:80', '81:81'], command: [b]}\n"
        },
        "compose.yaml",
    )
    assert p.data["services"]["b"] == {"image": "x", "ports": ["80:80", "81:81"], "command": ["b"]}


def test_the_extended_file_is_interpolated(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": "services:\n  a: {extends: {file: b.yaml, service: b}}\n",
            "b.yaml": "services:\n  b: {image: '${TAG:-x}'}\n",
        },
        "compose.yaml",
        env={"TAG": "v1"},
    )
    assert p.data["services"]["a"] == {"image": "v1"}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"compose.yaml": "services:\n  a: {extends: b}\n  b: {extends: a}\n"}, "extends cycle: a -> b -> a"),
        ({"compose.yaml": "services:\n  a: {extends: a}\n"}, "extends cycle: a -> a"),
        (
            {
                "compose.yaml": "services:\n  a: {extends: {file: o.yaml, service: b}}\n",
                "o.yaml": "services:\n  b: {extends: {file: compose.yaml, service: a}}\n",
            },
            "extends cycle",
        ),
        ({"compose.yaml": "services:\n  a: {extends: nope}\n"}, 'unknown service "nope"'),
        ({"compose.yaml": "services:\n  a: {extends: {file: gone.yaml, service: x}}\n"}, "gone.yaml not found"),
        (
            {"compose.yaml": "services:\n  a: {extends: {file: o.yaml, service: x}}\n", "o.yaml": "services: {}\n"},
            'unknown service "x" in',
        ),
        (
            {"compose.yaml": "services:\n  a: {extends: {file: 'git@github.com:x/y.git', service: x}}\n"},
            "remote stack files",
        ),
        ({"compose.yaml": "services:\n  a: {extends: [x]}\n"}, "extends must be"),
        ({"compose.yaml": "services:\n  a: {extends: {file: o.yaml}}\n"}, "needs the name of a service"),
    ],
)
def test_errors(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError, match=message) as info:
        load(tmp_path, files, "compose.yaml")
    assert info.value.file is not None and info.value.line is not None


def test_long_chains(tmp_path: Path) -> None:
    chain = "".join(f"  s{i}: {{extends: s{i - 1}, user: u{i}}}\n" for i in range(1, 300))
    text = "services:\n  s0: {image: x}\n" + chain
    p = load(tmp_path, {"compose.yaml": text}, "compose.yaml")
    assert p.data["services"]["s299"] == {"image": "x", "user": "u299"}
    backwards = "services:\n" + "".join(f"  s{i}: {{extends: s{i - 1}}}\n" for i in range(3000, 0, -1))
    with pytest.raises(SpecError, match="extends chain is too deep") as info:
        load(tmp_path, {"compose.yaml": backwards + "  s0: {image: x}\n"}, "compose.yaml")
    assert info.value.line == 2
