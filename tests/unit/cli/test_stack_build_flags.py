"""``build`` over a stack, with Compose's flags: a name that is a service is built as the service
(tagged as ``up`` looks for it) even when a directory has that name; --build-arg reaches it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYSTACK_ROOT"] = str(tmp_path / "root")
    return subprocess.run([sys.executable, "-m", "orchestrator", "--progress", "plain", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_build_flags_over_the_stack(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\nARG X=none\nLABEL x=$X\n")
    (tmp_path / "compose.yaml").write_text("name: flagfixbuild\nservices:\n  app:\n    build: ./app\n")

    def label() -> str:
        doc = json.loads(run(tmp_path, "image", "inspect", "flagfixbuild-app").stdout)
        return str(doc[0]["Config"]["Labels"]["x"])

    res = run(tmp_path, "build", "app")
    assert res.returncode == 0 and "Image flagfixbuild-app  Built" in res.stderr, res.stderr
    assert label() == "none"
    assert run(tmp_path, "build", "--build-arg", "X=1", "app").returncode == 0
    assert label() == "1"
    quiet = run(tmp_path, "build", "-q", "--build-arg", "X=2", "app")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == "" and label() == "2"
    single = run(tmp_path, "build", "./app", "-t", "solo:1", "--build-arg", "X=3")
    assert single.returncode == 0 and "tagged solo:1" in single.stderr, single.stderr
    bad = run(tmp_path, "build", "--push", "./app", "-t", "solo:2")
    assert bad.returncode == 2 and "--push" in bad.stderr


def test_build_check_reports_buildkit_checks_and_builds_nothing(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch AS Base\nCMD run-me now\n")
    (tmp_path / "compose.yaml").write_text(
        "name: flagcheck\nservices:\n"
        "  app:\n    build: ./app\n"
        "  inline:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM scratch\n"
        "        CMD [\"/x\"]\n"
        "  plain:\n    image: busybox:latest\n")

    res = run(tmp_path, "build", "--check")
    assert res.returncode == 1, res.stderr
    out = res.stdout.splitlines()
    assert out[0] == "Check complete, 2 warnings have been found!"
    assert "WARNING: StageNameCasing - https://docs.docker.com/go/dockerfile/rule/stage-name-casing/" in out
    assert "WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/" in out
    assert "app/Dockerfile:2" in out and "   2 | >>> CMD run-me now" in out and "   1 |     FROM scratch AS Base" in out
    assert run(tmp_path, "image", "ls", "-q").stdout == ""  # a check builds nothing

    clean = run(tmp_path, "build", "--check", "inline")
    assert (clean.returncode, clean.stdout) == (0, "Check complete, no warnings found.\n")
    single = run(tmp_path, "build", "--check", "./app")
    assert single.returncode == 1 and single.stdout.startswith("Check complete, 2 warnings have been found!")
    (tmp_path / "app" / "Clean.Dockerfile").write_text("FROM scratch\n")
    flagged = run(tmp_path, "build", "--check", "./app", "-t", "solo:1", "-f", "Clean.Dockerfile", "--target", "x")
    assert (flagged.returncode, flagged.stdout) == (0, "Check complete, no warnings found.\n"), flagged.stderr
    bad = run(tmp_path, "build", "--check", "nosuch")
    assert bad.returncode == 2 and "no such service: nosuch" in bad.stderr
