"""The ``pystack`` launcher: a ``python -I -S`` script whose module path is written in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import launcher
from orchestrator.isolated import CODE_ROOT


def test_the_script_starts_python_without_site_and_with_the_path_written_in() -> None:
    text = launcher.render("/usr/bin/python3", [CODE_ROOT, "/usr/lib/python3/dist-packages"])
    first, *rest = text.splitlines()
    assert first == "#!/usr/bin/python3 -IS"
    assert f"sys.path[:0] = {[CODE_ROOT, '/usr/lib/python3/dist-packages']!r}" in rest
    assert rest[-2:] == ["from orchestrator.cli.entry import run", "run()"]


def test_an_interpreter_path_with_a_space_is_refused() -> None:
    with pytest.raises(ValueError, match="shebang"):
        launcher.render("/opt/my python/bin/python3", [CODE_ROOT])


def test_the_path_puts_pystack_first_once_and_drops_blanks() -> None:
    assert launcher.module_path(["", "/a", CODE_ROOT, "/b", "/a"]) == [CODE_ROOT, "/a", "/b"]


def test_a_written_launcher_runs_a_command_that_needs_the_third_party_packages(tmp_path: Path) -> None:
    target = tmp_path / "pystack"
    subprocess.run([sys.executable, "-m", "orchestrator.launcher", str(target)], check=True, cwd=tmp_path,
                   capture_output=True)
    assert target.stat().st_mode & 0o777 == 0o755
    assert str(tmp_path) not in target.read_text()  # the working directory of the writer is not kept
    stack = tmp_path / "compose.yaml"
    stack.write_text("services:\n  web:\n    image: busybox\n    ports: ['8080:80']\n")
    out = subprocess.run([str(target), "-f", str(stack), "config", "--services"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (0, "web\n", "")


def test_an_interpreter_path_a_shebang_cannot_hold_leaves_pip_s_script_and_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "pystack"
    target.write_text("pip's script\n")
    monkeypatch.setattr(sys, "executable", "/opt/my python/bin/python3")
    assert launcher.main([str(target)]) == 0
    assert target.read_text() == "pip's script\n"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stays as pip wrote it" in err
