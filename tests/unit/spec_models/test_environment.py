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
