"""``include``: own project directory and .env, relative paths, cycles and conflicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import SpecError
from tests.unit.spec_loader.helpers import load


def test_short_form_with_own_dotenv_and_paths(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": "include:\n  - sub/compose.yaml\nservices:\n  web: {image: web}\n",
            "sub/compose.yaml": """
            services:
              db:
                image: 'db:${DB_TAG}'
                build: .
                volumes: ['./data:/data']
                env_file: db.env
            secrets:
              s: {file: ./secret.txt}
            """,
            "sub/.env": "DB_TAG=15\n",
        },
        "compose.yaml",
    )
    sub = tmp_path / "sub"
    assert set(p.data["services"]) == {"web", "db"}
    db = p.data["services"]["db"]
    assert db == {
        "image": "db:15",
        "build": str(sub),
        "volumes": [f"{sub / 'data'}:/data"],
        "env_file": str(sub / "db.env"),
    }
    assert p.data["secrets"] == {"s": {"file": str(sub / "secret.txt")}}
    assert "include" not in p.data


def test_parent_variables_win_over_included_dotenv(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": "include: [sub/compose.yaml]\n",
            "sub/compose.yaml": "services:\n  db: {image: 'db:${T}'}\n",
            "sub/.env": "T=sub\n",
        },
        "compose.yaml",
        env={"T": "shell"},
    )
    assert p.data["services"]["db"]["image"] == "db:shell"


def test_long_form_project_directory_and_env_file(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": """
            include:
              - path: [inc/a.yaml, inc/b.yaml]
                project_directory: other
                env_file: [vars.env]
            """,
            "inc/a.yaml": "services:\n  a: {image: '${X}', build: ./ctx}\n",
            "inc/b.yaml": "services:\n  a: {user: '${Y:-none}'}\n",
            "vars.env": "X=from-env-file\n",
        },
        "compose.yaml",
    )
    assert p.data["services"]["a"] == {
        "image": "from-env-file",
        "build": str(tmp_path / "other" / "ctx"),
        "user": "none",
    }


def test_nested_include_and_extends_inside(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": "include: [a/compose.yaml]\n",
            "a/compose.yaml": "include: [b/compose.yaml]\nservices:\n  x: {extends: {file: base.yaml, service: y}}\n",
            "a/base.yaml": "services:\n  y: {image: y, build: .}\n",
            "a/b/compose.yaml": "services:\n  z: {image: z}\n",
        },
        "compose.yaml",
    )
    assert p.data["services"] == {"z": {"image": "z"}, "x": {"image": "y", "build": str(tmp_path / "a")}}


def test_identical_definitions_do_not_conflict(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "compose.yaml": "include: [a.yaml]\nnetworks:\n  n: {driver: bridge}\n",
            "a.yaml": "networks:\n  n: {driver: bridge}\nservices:\n  s: {image: s}\n",
        },
        "compose.yaml",
    )
    assert p.data["networks"] == {"n": {"driver": "bridge"}}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"compose.yaml": "include: [compose.yaml]\n"}, "include cycle"),
        ({"compose.yaml": "include: [a.yaml]\n", "a.yaml": "include: [compose.yaml]\n"}, "include cycle"),
        (
            {
                "compose.yaml": "include: [a.yaml]\nservices:\n  s: {image: x}\n",
                "a.yaml": "services:\n  s: {image: y}\n",
            },
            'services "s" is already defined',
        ),
        (
            {
                "compose.yaml": "include: [a.yaml, b.yaml]\n",
                "a.yaml": "services:\n  s: {image: x}\n",
                "b.yaml": "services:\n  s: {image: y}\n",
            },
            "conflicts",
        ),
        ({"compose.yaml": "include: [missing.yaml]\n"}, "missing.yaml not found"),
        ({"compose.yaml": "include: {path: a.yaml}\n"}, "include must be a list"),
        ({"compose.yaml": "include: [{project_directory: x}]\n"}, "needs a path"),
        ({"compose.yaml": "include: [{path: a.yaml, bogus: 1}]\n"}, 'unknown include attribute "bogus"'),
        ({"compose.yaml": "include: ['oci://registry/x']\n"}, "remote stack files"),
        ({"compose.yaml": "include: [{path: a.yaml, env_file: nope.env}]\n", "a.yaml": "services: {}\n"}, "not found"),
    ],
)
def test_errors(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError, match=message) as info:
        load(tmp_path, files, "compose.yaml")
    assert info.value.file is not None


def test_a_diamond_of_includes_is_bounded(tmp_path: Path) -> None:
    files = {"compose.yaml": "include: [l0a.yaml, l0b.yaml]\n"}
    for i in range(20):
        for side in "ab":
            files[f"l{i}{side}.yaml"] = f"include: [l{i + 1}a.yaml, l{i + 1}b.yaml]\n"
    files["l20a.yaml"] = files["l20b.yaml"] = "services:\n  s: {image: x}\n"
    with pytest.raises(SpecError, match="more than 256 included files"):
        load(tmp_path, files, "compose.yaml")


def _chain(n: int) -> dict[str, str]:
    files = {"compose.yaml": "include: [c0.yaml]\n"}
    for i in range(n):
        files[f"c{i}.yaml"] = f"include: [c{i + 1}.yaml]\n"
    files[f"c{n}.yaml"] = "services:\n  s: {image: x}\n"
    return files


def test_a_long_include_chain_loads(tmp_path: Path) -> None:
    p = load(tmp_path, _chain(250), "compose.yaml")
    assert p.data["services"] == {"s": {"image": "x"}}


def test_a_too_long_include_chain_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="more than 256 included files"):
        load(tmp_path, _chain(400), "compose.yaml")
