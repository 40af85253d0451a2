"""environment and env_file: lists to maps, KEY alone from the environment, files merged under the service's own."""

from __future__ import annotations

from pathlib import Path

from .helpers import load_errors, load_file, service, write


def test_list_becomes_map_and_bare_key_takes_project_value() -> None:
    svc = service({"environment": ["A=1", "B", "C=x=y", "D="]}, environment={"B": "from-shell"})
    assert svc.environment == {"A": "1", "B": "from-shell", "C": "x=y", "D": ""}


def test_map_values_become_strings_and_null_stays_unset() -> None:
    svc = service({"environment": {"N": 1, "T": True, "F": 1.5, "U": None}})
    assert svc.environment == {"N": "1", "T": "true", "F": "1.5", "U": None}


def test_env_file_merged_service_environment_wins(tmp_path: Path) -> None:
    write(tmp_path, "A=file\nB=file\n", "one.env")
    write(tmp_path, "B=two\nC=two\n", "two.env")
    path = write(tmp_path, "services:\n  s:\n    image: x\n    env_file: [one.env, two.env]\n"
                           "    environment: {C: mine}\n")
    svc = load_file(path).services["s"]
    assert svc.environment == {"A": "file", "B": "two", "C": "mine"}
    assert [(Path(e.path).name, e.required) for e in svc.env_file] == [("one.env", True), ("two.env", True)]


def test_optional_env_file_may_be_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  s:\n    image: x\n    env_file:\n      - path: nope.env\n"
                           "        required: false\n")
    assert load_file(path).services["s"].environment == {}


def test_missing_required_env_file_is_a_located_error(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  s:\n    image: x\n    env_file: nope.env\n")
    [line] = load_errors(path)
    assert line.startswith(f"{path.name}:4:") or line.startswith(f"{path}:4:"), line
    assert "nope.env" in line


def test_bad_entry() -> None:
    from .helpers import service_errors

    [line] = service_errors({"environment": [{"A": 1}]})
    assert line.startswith("services.svc.environment[0]: invalid variable")


def test_env_file_sees_earlier_files_the_service_environment_and_project_first(tmp_path: Path) -> None:
    # compose-go's order for ${VAR} in a service's env file: the project's variables, then the
    # service's own environment, then what earlier files defined
    write(tmp_path, "A=a1\nP=from-file\n", "one.env")
    write(tmp_path, "D=${A}-d\nF=${E}\nQ=${P}\n", "two.env")
    path = write(tmp_path, "services:\n  s:\n    image: x\n    env_file: [one.env, two.env]\n"
                           "    environment: {E: own}\n")
    svc = load_file(path, environ={"P": "from-project"}).services["s"]
    assert svc.environment == {"A": "a1", "P": "from-file", "D": "a1-d", "F": "own", "Q": "from-project", "E": "own"}


def test_include_env_file_values_reach_the_included_services_env_files(tmp_path: Path) -> None:
    # docker/compose's include-envfile-interpolation fixture, plus KEY-alone entries
    (tmp_path / "sub").mkdir()
    write(tmp_path, "VAR=1\n", "values.env")
    write(tmp_path, "MYVAR=${VAR?}\n", "sub/sub.env")
    write(tmp_path, "services:\n  app:\n    image: alpine\n    env_file: sub.env\n    environment: [VAR]\n"
                    "    build: {context: ., args: [VAR]}\n", "sub/compose.yaml")
    path = write(tmp_path, "include:\n  - path: sub/compose.yaml\n    env_file: values.env\n"
                           "services:\n  web:\n    image: alpine\n    environment: [VAR]\n")
    stack = load_file(path)
    app = stack.services["app"]
    assert app.environment == {"MYVAR": "1", "VAR": "1"}
    assert app.build is not None and app.build.args == {"VAR": "1"}
    assert stack.services["web"].environment == {"VAR": None}  # the including project does not see them


def test_missing_required_variable_in_env_file_is_a_located_error(tmp_path: Path) -> None:
    write(tmp_path, "MYVAR=${VAR?}\n", "sub.env")
    path = write(tmp_path, "services:\n  s:\n    image: x\n    env_file: sub.env\n")
    [line] = load_errors(path)
    assert ":4:" in line and "services.s.env_file[0]: required variable VAR is missing a value" in line, line
