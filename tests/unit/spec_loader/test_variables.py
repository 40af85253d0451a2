"""``config --variables`` and ``--environment``: what the file refers to, and what answers it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestrator.spec.variables import Variable, collect, variables_in


def test_each_form_of_a_variable() -> None:
    assert variables_in("$A ${B} ${C:-d} ${D-e} ${E:?msg} ${F?} ${G:+alt} ${H+x} $$I") == [
        Variable("A"), Variable("B"), Variable("C", default="d"), Variable("D", default="e"),
        Variable("E", required=True), Variable("F", required=True), Variable("G", alternate="alt"),
        Variable("H", alternate="x"),
    ]
    assert variables_in("${A:-${B:-x}}") == [Variable("A", default="${B:-x}"), Variable("B", default="x")]
    assert variables_in("${") == [] and variables_in("$-") == []


def test_collect_walks_values_only_and_merges_what_places_say() -> None:
    tree = {"services": {"${KEY}": {"image": "x:${TAG:-1}", "command": ["${TAG}", "${NEED:?}"]}}}
    assert collect(tree) == {"NEED": Variable("NEED", required=True), "TAG": Variable("TAG", default="1")}


def test_cli(tmp_path: Path) -> None:
    stack = 'name: flagfixvars\nservices:\n  app:\n    image: "busybox:${TAG:-latest}"\n'
    (tmp_path / "compose.yaml").write_text(stack)
    (tmp_path / ".env").write_text("TAG=1.36\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}

    def run(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "orchestrator", "config", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60, check=True).stdout

    assert run("--variables").splitlines() == ["NAME   REQUIRED   DEFAULT VALUE   ALTERNATE VALUE",
                                              "TAG    false      latest"]
    assert "TAG=1.36" in run("--environment").splitlines()
