"""The click-free reader of the runtime's verbs gives click's answers, or leaves the command to click."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest

from orchestrator.cli import runtime_argv
from orchestrator.cli.main import cli


def _click_parse(argv: list[str]) -> tuple[str | None, bool, str, dict[str, Any]] | None:
    """What click makes of ``argv``: the group's --root and --debug, the verb and its parameters;
    None when it refuses the command line or would only print help."""
    try:
        top = cli.make_context("pystack", list(argv), resilient_parsing=False)
        name, group, rest = cli.resolve_command(top, [*top._protected_args, *top.args])
        assert isinstance(group, click.Group) and name == "runtime"
        mid = group.make_context(name, rest, parent=top)
        verb, cmd, args = group.resolve_command(mid, [*mid._protected_args, *mid.args])
        assert cmd is not None and verb is not None
        params = cmd.make_context(verb, args, parent=mid).params
    except (click.exceptions.UsageError, click.exceptions.BadParameter, click.exceptions.Exit):
        return None
    return top.params["root"] or None, bool(top.params["debug"]), verb, params


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "bundle").mkdir()
    (tmp_path / "afile").write_text("x")
    return {"dir": str(tmp_path / "bundle"), "file": str(tmp_path / "afile"), "new": str(tmp_path / "new")}


READ_HERE = [  # command lines the fast path takes: each must mean exactly what click makes of it
    "runtime run c1",
    "runtime run --bundle {dir} c1",
    "runtime run -b {dir} c1",
    "runtime run -b{dir} c1",
    "runtime run --bundle={dir} --keep c1",
    "runtime run c1 --bundle {dir} --pid-file {new} --log {new}",
    "--root /tmp/r runtime run -b {dir} c1",
    "--root=/tmp/r --debug runtime run -b {dir} c1",
    "--debug --root /tmp/r runtime create c2",
    "runtime create c2 -b {dir} --console-socket {file} --pid-file {new}",
    "runtime create --log={new} c2",
    "runtime start c3",
    "runtime state c3",
    "runtime kill c3",
    "runtime kill c3 KILL",
    "runtime kill -a c3 9",
    "runtime kill c3 --all SIGHUP",
    "runtime delete c4",
    "runtime delete -f c4",
    "runtime delete --force c4",
    "runtime delete -- -c4",
    "runtime run -b -x c1",
    "runtime run --bundle= c1",
    "--root runtime runtime state c5",
]

LEFT_TO_CLICK = [  # command lines the fast path leaves to click (which runs or refuses them)
    "runtime run --help",
    "runtime run -h c1",
    "runtime --help",
    "runtime",
    "runtime run",
    "runtime run c1 c2",
    "runtime run --bundle",
    "runtime run --nosuch c1",
    "runtime run --keep=1 c1",
    "runtime run -b {file} c1",
    "runtime run --pid-file {dir} c1",
    "runtime kill c3 KILL extra",
    "runtime kill -af c3",
    "runtime delete -x c4",
    "runtime --runtime crun state c5",
    "runtime list",
    "runtime exec c5 true",
    "-f compose.yaml runtime state c5",
    "--dry-run runtime state c5",
    "--root",
    "ps",
    "state runtime c5",
]


def _argv(template: str, paths: dict[str, str]) -> list[str]:
    return [word.format(**paths) for word in template.split()]


@pytest.mark.parametrize("template", READ_HERE)
def test_what_the_fast_path_reads_click_reads_the_same(template: str, paths: dict[str, str]) -> None:
    argv = _argv(template, paths)
    call = runtime_argv.parse(argv)
    assert call is not None, argv
    assert (call.root, call.debug, call.verb, call.params) == _click_parse(argv)


@pytest.mark.parametrize("template", LEFT_TO_CLICK)
def test_the_rest_goes_to_click(template: str, paths: dict[str, str]) -> None:
    assert runtime_argv.parse(_argv(template, paths)) is None


def test_click_refuses_what_the_fast_path_checks_for_it(paths: dict[str, str]) -> None:
    """The path checks are there because click makes them: a bundle that is a file is refused."""
    for template in ("runtime run -b {file} c1", "runtime create --log {dir} c1", "runtime run --bundle"):
        assert _click_parse(_argv(template, paths)) is None, template

