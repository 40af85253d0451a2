"""The click-free reader of ``run`` gives click's answers, or leaves the command to click."""

from __future__ import annotations

from typing import Any

import click
import pytest

from orchestrator.cli import run_argv
from orchestrator.cli.exec_cmd import _label_pairs
from orchestrator.cli.main import cli

pytestmark = pytest.mark.usefixtures("no_click_variables")

GLOBAL_KEYS = ("files", "project_name", "root", "ansi", "debug")
RUN_KEYS = ("remove", "detach", "envs", "env_files", "entrypoint", "no_deps", "no_tty", "interactive", "user",
            "workdir", "name", "volumes", "publish", "service_ports", "use_aliases", "cap_add", "cap_drop", "build",
            "pull", "quiet_pull", "quiet_build", "quiet", "remove_orphans", "service", "command")


def _click_parse(argv: list[str]) -> dict[str, Any] | None:
    """What click makes of ``argv`` (group options, then run's), or None when it refuses it."""
    try:
        top = cli.make_context("pystack", list(argv), resilient_parsing=False)
        name, cmd, rest = cli.resolve_command(top, [*top._protected_args, *top.args])
        assert name == "run" and cmd is not None
        params = cmd.make_context(name, rest, parent=top).params
        labels = _label_pairs(params["labels"])
    except (click.exceptions.UsageError, click.exceptions.BadParameter, click.exceptions.Exit):
        return None
    if params["service"].startswith("-"):
        return None  # refused by the command itself (exec_cmd._no_such_option)
    out = {key: top.params[key] for key in GLOBAL_KEYS}
    out["files"] = tuple(out["files"])
    out.update({key: params[key] for key in RUN_KEYS})
    for key in ("envs", "env_files", "volumes", "publish", "cap_add", "cap_drop", "command"):
        out[key] = tuple(out[key])
    out["labels"] = labels
    return out


def _fast_parse(argv: list[str]) -> dict[str, Any] | None:
    call = run_argv.parse(argv)
    if call is None:
        return None
    out = {key: getattr(call.globals, key) for key in GLOBAL_KEYS}
    out.update({key: getattr(call.request, key) for key in (*RUN_KEYS, "labels")})
    return out


READ_HERE = [  # command lines the fast path takes: each must mean exactly what click makes of it
    "run t",
    "run --rm t /bin/true",
    "-f one.yaml -p bench run --rm t /bin/true",
    "run -d t sleep 100",
    "run --detach --rm t",
    "run --rm t sh -c 'echo -d --rm'",
    "run --rm t ls -l -- -x",
    "run t --rm",  # after SERVICE, the command's own
    "run -e A=1 -e B --env=C=3 --env-from-file x.env t env",
    "run -eA=1 t env",
    "run --entrypoint /bin/sh -u 1000 -w /tmp --name one t",
    "run --user=nobody --workdir=/srv t",
    "run -v ./data:/data --volume vol:/v:ro -p 8080:80 --publish=9000 t",
    "run -P --use-aliases --cap-add NET_ADMIN --cap-drop=CHOWN t",
    "run --build --pull always --quiet-pull --quiet-build -q t",
    "run --pull=never --quiet t",
    "run -T t cat",
    "run --no-tty -i t",
    "run --no-interactive t",
    "run --interactive --no-interactive t",
    "run --no-interactive -i t",
    "run --no-deps --remove-orphans t",
    "run -l a=1 --label b= -l c=x=y t",
    "--root /tmp/r --debug run --rm t",
]

LEFT_TO_CLICK = [  # command lines the fast path leaves to click (which runs or refuses them)
    "run",
    "run --rm",
    "run --help t",
    "run -h",
    "run --nosuch t",
    "run -dT t",
    "run --rm=1 t",
    "run -l novalue t",
    "run -l =x t",
    "run --pull sometimes t",
    "run -e -x t",
    "run -e",
    "run - t",
    "--dry-run run t",
    "-- run t",
    "run --rm -- t",
    "up -d",
    "runtime run c1",
]


def _argv(template: str) -> list[str]:
    import shlex

    return shlex.split(template)


@pytest.mark.parametrize("template", READ_HERE)
def test_what_the_fast_path_reads_click_reads_the_same(template: str) -> None:
    argv = _argv(template)
    fast = _fast_parse(argv)
    assert fast is not None, argv
    assert fast == _click_parse(argv)


@pytest.mark.parametrize("template", LEFT_TO_CLICK)
def test_the_rest_goes_to_click(template: str) -> None:
    assert run_argv.parse(_argv(template)) is None


@pytest.mark.parametrize("value", ["1", "no", ""])
def test_remove_orphans_from_the_environment_as_click_reads_it(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPOSE_REMOVE_ORPHANS", value)
    fast = _fast_parse(["run", "t"])
    assert fast is not None and fast == _click_parse(["run", "t"])
    monkeypatch.setenv("COMPOSE_REMOVE_ORPHANS", "perhaps")
    assert run_argv.parse(["run", "t"]) is None


def test_click_refuses_what_the_fast_path_leaves_for_it_to_refuse() -> None:
    for template in ("run", "run --nosuch t", "run -l novalue t", "run --pull sometimes t", "run --rm=1 t"):
        assert _click_parse(_argv(template)) is None, template
