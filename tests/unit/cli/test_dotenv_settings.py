"""COMPOSE_* command-line settings from the project's env file, under the shell's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.cli import dotenv_settings as ds


def test_the_env_file_fills_what_the_shell_leaves_unset(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text('COMPOSE_ANSI=never\nexport COMPOSE_REMOVE_ORPHANS="true"  # yes\nCOMPOSE_MENU=${MENU:-1}\n'
                   "COMPOSE_PROJECT_NAME=notmine\nOTHER=x\n")
    environ = {"COMPOSE_ANSI": "always", "MENU": "0"}
    assert ds.apply(ds.read([env]), environ) == ["COMPOSE_REMOVE_ORPHANS", "COMPOSE_MENU"]
    assert environ == {"COMPOSE_ANSI": "always", "MENU": "0", "COMPOSE_REMOVE_ORPHANS": "true", "COMPOSE_MENU": "0"}
    assert ds.apply(ds.read([tmp_path / "missing.env"]), environ) == []


def test_which_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert ds.env_files([], None, [], {}) == [tmp_path / ".env"]
    assert ds.env_files(["sub/compose.yaml"], None, [], {}) == [tmp_path / "sub" / ".env"]
    assert ds.env_files([], "proj", [], {}) == [tmp_path / "proj" / ".env"]
    assert ds.env_files([], None, ["a.env"], {"COMPOSE_ENV_FILES": "b.env"}) == [tmp_path / "a.env"]
    assert ds.env_files([], None, [], {"COMPOSE_ENV_FILES": "b.env, c.env"}) == [tmp_path / "b.env", tmp_path / "c.env"]
    assert ds.env_files([], None, [], {"COMPOSE_DISABLE_ENV_FILE": "1"}) == []


def test_an_env_file_without_settings_costs_no_parser(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COMPOSE_PROJECT_NAME=x\nA=1\n")
    code = ("import sys, os; from orchestrator.cli import dotenv_settings as ds; "
            "ds.apply(ds.read(ds.env_files([], None, [], os.environ)), dict(os.environ)); "
            "print('orchestrator.spec.dotenv' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(Path(__file__).parents[3])}).stdout
    assert out.strip() == "False"


def test_a_command_without_a_remote_stack_loads_none_of_its_code(tmp_path: Path) -> None:
    """Every command starts through the group's callback: the ``oci://`` code (and the env-file
    parser) are loaded only when COMPOSE_FILE or an env file names a published stack."""
    (tmp_path / ".env").write_text("A=1\n")
    code = ("import sys; from orchestrator.cli.main import cli; cli.main(['version'], standalone_mode=False); "
            "print(sorted(m for m in ('orchestrator.cli.remote_stack', 'orchestrator.spec.dotenv') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(Path(__file__).parents[3])}).stdout
    assert out.strip().splitlines()[-1] == "[]"
