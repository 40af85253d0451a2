"""Project directory, file discovery, variables and their precedence, project name, profiles."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import SpecError
from orchestrator.spec.project import LoadOptions, load_project, normalize_project_name
from tests.unit.spec_loader.helpers import load, write


def test_discovery_prefers_compose_yaml_and_adds_its_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": "services:\n  a: {image: a}\n",
            "compose.override.yaml": "services:\n  a: {user: u}\n",
            "docker-compose.yml": "services:\n  b: {image: b}\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    p = load_project(LoadOptions(environ={}))
    assert p.config_files == [tmp_path / "compose.yaml", tmp_path / "compose.override.yaml"]
    assert p.data["services"] == {"a": {"image": "a", "user": "u"}}
    assert p.working_dir == tmp_path
    assert any("several stack files" in w for w in p.warnings)


@pytest.mark.parametrize("name", ["compose.yml", "docker-compose.yaml", "docker-compose.yml"])
def test_discovery_of_each_default_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    stem, ext = name.rsplit(".", 1)
    write(tmp_path, {name: "services:\n  a: {image: a}\n", f"{stem}.override.{ext}": "services:\n  a: {user: x}\n"})
    monkeypatch.chdir(tmp_path)
    p = load_project(LoadOptions(environ={}))
    assert [f.name for f in p.config_files] == [name, f"{stem}.override.{ext}"]


def test_the_override_is_compose_s_first_name_found_whatever_the_main_file_s(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """compose-go's rule: the first of compose.override.yml, compose.override.yaml,
    docker-compose.override.yml, docker-compose.override.yaml beside the chosen file."""
    write(tmp_path, {"compose.yaml": "services:\n  a: {image: a}\n",
                     "docker-compose.override.yml": "services:\n  a: {user: legacy}\n"})
    monkeypatch.chdir(tmp_path)
    p = load_project(LoadOptions(environ={}))
    assert [f.name for f in p.config_files] == ["compose.yaml", "docker-compose.override.yml"]
    assert p.data["services"]["a"]["user"] == "legacy" and p.warnings == []
    write(tmp_path, {"compose.override.yaml": "services:\n  a: {user: new}\n"})
    p = load_project(LoadOptions(environ={}))
    assert [f.name for f in p.config_files] == ["compose.yaml", "compose.override.yaml"]
    assert p.data["services"]["a"]["user"] == "new"
    assert any("several override files (compose.override.yaml, docker-compose.override.yml)" in w
               for w in p.warnings)


def test_docker_compose_yml_is_preferred_to_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"docker-compose.yaml": "services:\n  a: {image: a}\n",
                     "docker-compose.yml": "services:\n  b: {image: b}\n"})
    monkeypatch.chdir(tmp_path)
    assert [f.name for f in load_project(LoadOptions(environ={})).config_files] == ["docker-compose.yml"]


def test_discovery_walks_up_to_a_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"proj/compose.yaml": "services:\n  a: {image: a}\n", "proj/.env": "X=1\nY=proj\n"})
    write(tmp_path, {"proj/deep/er/.env": "Y=local\n"})
    monkeypatch.chdir(tmp_path / "proj" / "deep" / "er")
    p = load_project(LoadOptions(environ={}))
    assert p.working_dir == tmp_path / "proj" and p.name == "proj"
    # the project's .env is read too, below the current directory's one
    assert p.environment["X"] == "1" and p.environment["Y"] == "local"


def test_no_file_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match="no stack file found"):
        load_project(LoadOptions(project_directory=str(tmp_path), environ={}))


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        load_project(LoadOptions(files=[str(tmp_path / "nope.yaml")], environ={}))


def test_compose_file_variable_with_pathsep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"a.yaml": "services:\n  a: {image: a}\n", "b.yaml": "services:\n  a: {image: b}\n"})
    monkeypatch.chdir(tmp_path)
    p = load_project(LoadOptions(environ={"COMPOSE_FILE": f"a.yaml{os.pathsep}b.yaml"}))
    assert p.config_files == [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    assert p.data["services"]["a"]["image"] == "b"


def test_compose_file_from_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path,
        {"a.yaml": "services:\n  a: {image: a}\n", ".env": "COMPOSE_FILE=a.yaml\nCOMPOSE_PROJECT_NAME=fromenv\n"},
    )
    monkeypatch.chdir(tmp_path)
    p = load_project(LoadOptions(environ={}))
    assert p.config_files == [tmp_path / "a.yaml"] and p.name == "fromenv"


def test_variable_precedence_shell_over_dotenv(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {"compose.yaml": "services:\n  a:\n    image: '${IMG}:${TAG}'\n", ".env": "IMG=fromfile\nTAG=filetag\n"},
        "compose.yaml",
        env={"TAG": "shelltag"},
    )
    assert p.data["services"]["a"]["image"] == "fromfile:shelltag"
    assert p.environment["IMG"] == "fromfile" and p.environment["TAG"] == "shelltag"


def test_env_files_replace_dotenv_and_later_wins(tmp_path: Path) -> None:
    write(tmp_path, {".env": "A=dotenv\nB=dotenv\n", "one.env": "A=one\nB=one\n", "two.env": "B=two\nC=${A}\n"})
    p = load(
        tmp_path,
        {"compose.yaml": "services:\n  s: {image: '${A}-${B}-${C}'}\n"},
        "compose.yaml",
        env_files=[str(tmp_path / "one.env"), str(tmp_path / "two.env")],
    )
    assert p.data["services"]["s"]["image"] == "one-two-one"


def test_missing_env_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        load(tmp_path, {"compose.yaml": "services: {}\n"}, "compose.yaml", env_files=[str(tmp_path / "no.env")])


def test_project_directory_option_sets_dotenv_and_working_dir(tmp_path: Path) -> None:
    write(tmp_path, {"pd/.env": "T=pd\n"})
    p = load(
        tmp_path,
        {"files/compose.yaml": "services:\n  s: {image: '${T}'}\n"},
        "files/compose.yaml",
        project_directory=str(tmp_path / "pd"),
    )
    assert p.working_dir == tmp_path / "pd" and p.data["services"]["s"]["image"] == "pd" and p.name == "pd"


def test_missing_variable_warns_once_and_is_blank(tmp_path: Path) -> None:
    p = load(tmp_path, {"compose.yaml": "services:\n  a: {image: 'x${NOPE}', user: '$NOPE'}\n"}, "compose.yaml")
    assert p.data["services"]["a"] == {"image": "x", "user": ""}
    assert p.warnings == ['variable "NOPE" is not set, defaulting to a blank string']


def test_required_variable_stops_with_message_and_position(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load(tmp_path, {"compose.yaml": "services:\n  a:\n    image: '${IMG:?set IMG please}'\n"}, "compose.yaml")
    assert str(info.value).endswith(
        "compose.yaml:3:12: services.a.image: required variable IMG is missing a value: set IMG please"
    )


def test_keys_are_not_interpolated_and_no_interpolate_option(tmp_path: Path) -> None:
    files = {"compose.yaml": "services:\n  a:\n    environment: {'$K': '${V:?x}'}\n"}
    p = load(tmp_path, files, "compose.yaml", interpolate=False)
    assert p.data["services"]["a"]["environment"] == {"$K": "${V:?x}"}
    p = load(tmp_path, files, "compose.yaml", env={"V": "1"})
    assert p.data["services"]["a"]["environment"] == {"$K": "1"}


def test_non_string_values_survive_interpolation(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {"compose.yaml": "services:\n  a: {scale: 2, tty: true, cpus: 1.5, image: '$$HOME'}\n"},
        "compose.yaml",
    )
    assert p.data["services"]["a"] == {"scale": 2, "tty": True, "cpus": 1.5, "image": "$HOME"}


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("My Project", "myproject"), ("_hidden", "hidden"), ("app.v2", "appv2"), ("a-b_c", "a-b_c"), ("-.-x", "x")],
)
def test_directory_name_normalization(raw: str, normalized: str) -> None:
    assert normalize_project_name(raw) == normalized


def test_project_name_precedence(tmp_path: Path) -> None:
    files = {"My Dir/compose.yaml": "name: fromfile\nservices: {}\n"}
    assert load(tmp_path, files, "My Dir/compose.yaml").name == "fromfile"
    assert load(tmp_path, files, "My Dir/compose.yaml", env={"COMPOSE_PROJECT_NAME": "envname"}).name == "envname"
    p = load(tmp_path, files, "My Dir/compose.yaml", env={"COMPOSE_PROJECT_NAME": "envname"}, project_name="cli")
    assert p.name == "cli" and p.data["name"] == "cli"
    write(tmp_path, {"My Dir/compose.yaml": "services: {}\n"})
    assert load(tmp_path, {}, "My Dir/compose.yaml").name == "mydir"


def test_interpolated_name(tmp_path: Path) -> None:
    assert load(tmp_path, {"c.yaml": "name: 'app-${ENV}'\n"}, "c.yaml", env={"ENV": "dev"}).name == "app-dev"


@pytest.mark.parametrize(
    ("source", "kw"),
    [("-p", {"project_name": "Bad Name"}), ("file", {}), ("env", {"env": {"COMPOSE_PROJECT_NAME": "-x"}})],
)
def test_invalid_explicit_names(tmp_path: Path, source: str, kw: dict[str, Any]) -> None:
    with pytest.raises(SpecError, match="invalid project name"):
        load(
            tmp_path, {"compose.yaml": "name: UPPER\n" if source == "file" else "services: {}\n"}, "compose.yaml", **kw
        )


def test_profiles_from_option_and_variable(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {"compose.yaml": "services: {}\n", ".env": "COMPOSE_PROFILES=b, c\n"},
        "compose.yaml",
        profiles=["a", "b"],
    )
    assert p.profiles == ["a", "b", "c"]


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="must be a mapping"):
        load(tmp_path, {"compose.yaml": "- a\n- b\n"}, "compose.yaml")


def test_empty_file_loads(tmp_path: Path) -> None:
    p = load(tmp_path, {"compose.yaml": "# nothing\n"}, "compose.yaml")
    assert p.data == {"name": normalize_project_name(tmp_path.name)}
    assert p.positions.get(("services",)) is not None


def test_stack_file_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    write(tmp_path, {".env": "T=stdin\n"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"services:\n  a: {image: '${T}'}\n")))
    p = load_project(LoadOptions(files=["-"], environ={}))
    assert p.data["services"] == {"a": {"image": "stdin"}}
    assert p.working_dir == tmp_path
    pos = p.positions.get(("services", "a", "image"))
    assert pos is not None and pos.file == "-" and pos.line == 2


def test_empty_service_is_located_at_its_key(tmp_path: Path) -> None:
    p = load(tmp_path, {"compose.yaml": "services:\n  web: # nothing yet\n  db:\n"}, "compose.yaml")
    assert p.data["services"] == {"web": {}, "db": {}}
    for name, line in (("web", 2), ("db", 3)):
        pos = p.positions.get(("services", name))
        assert pos is not None and (pos.line, pos.column) == (line, 3)


def test_compose_path_separator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"a.yaml": "services:\n  a: {image: a}\n", "b.yaml": "services:\n  a: {user: b}\n"})
    monkeypatch.chdir(tmp_path)
    p = load_project(LoadOptions(environ={"COMPOSE_FILE": "a.yaml;b.yaml", "COMPOSE_PATH_SEPARATOR": ";"}))
    assert p.data["services"]["a"] == {"image": "a", "user": "b"}


def test_compose_env_files_and_disable_env_file(tmp_path: Path) -> None:
    write(tmp_path, {".env": "T=dotenv\n", "x.env": "T=x\n"})
    files = {"compose.yaml": "services:\n  s: {image: '${T:-none}'}\n"}
    p = load(tmp_path, files, "compose.yaml", env={"COMPOSE_ENV_FILES": str(tmp_path / "x.env")})
    assert p.data["services"]["s"]["image"] == "x"
    p = load(tmp_path, files, "compose.yaml", env={"COMPOSE_DISABLE_ENV_FILE": "1"})
    assert p.data["services"]["s"]["image"] == "none"
