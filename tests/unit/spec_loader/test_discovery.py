"""Whether a stack file could be found, decided without the loader (``-p NAME`` commands)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from orchestrator.spec.discovery import could_find_stack_file, default_file_dir

REPO = Path(__file__).resolve().parents[3]


def test_a_default_file_here_or_in_a_parent_is_found(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    before = default_file_dir(deep)  # a parent of the temporary directory may hold one
    assert before is None or not before.is_relative_to(tmp_path)
    (tmp_path / "a" / "docker-compose.yml").write_text("services: {}\n")
    assert default_file_dir(deep) == tmp_path / "a"
    assert could_find_stack_file(str(deep), [], environ={})


def test_only_a_directory_with_nothing_that_could_name_a_file_is_sure(tmp_path: Path) -> None:
    assert not could_find_stack_file(str(tmp_path), [], environ={})
    assert could_find_stack_file(str(tmp_path), [], environ={"COMPOSE_FILE": "x.yaml"})
    assert could_find_stack_file(str(tmp_path), [], environ={"COMPOSE_ENV_FILES": "a.env"})
    assert could_find_stack_file(str(tmp_path), ["my.env"], environ={})
    (tmp_path / ".env").write_text("COMPOSE_FILE=elsewhere.yaml\n")
    assert could_find_stack_file(str(tmp_path), [], environ={})


def _project_name_in(directory: Path, *extra_env: str) -> list[str]:
    code = ("import sys; from orchestrator.cli.options import GlobalOptions; "
            "from orchestrator.cli.project import project_name; "
            "name, stack = project_name(GlobalOptions(files=[], project_name='shop', project_directory=None, "
            "profiles=[], env_files=[], debug=False, ansi='never', progress='quiet')); "
            "print(name, stack is None, 'pydantic' in sys.modules)")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **dict(e.split("=", 1) for e in extra_env)}
    out = subprocess.run([sys.executable, "-c", code], cwd=directory, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_p_without_a_stack_file_does_not_load_the_loader(tmp_path: Path) -> None:
    assert _project_name_in(tmp_path) == ["shop", "True", "False"]


def test_p_with_a_stack_file_still_loads_it(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    assert _project_name_in(tmp_path) == ["shop", "False", "True"]
