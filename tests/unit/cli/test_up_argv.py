"""The click-free reader of a detached ``up`` gives click's answers, or leaves the command to click."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest

from orchestrator.cli import fast_argv, up_argv
from orchestrator.cli.main import cli

pytestmark = pytest.mark.usefixtures("no_click_variables")

GLOBAL_KEYS = ("files", "project_name", "project_directory", "profiles", "env_files", "root", "ansi",
               "progress", "compatibility", "parallel", "debug")
UP_KEYS = ("detach", "wait", "wait_timeout", "force_recreate", "recreate_deps", "no_deps", "remove_orphans",
           "renew_anon", "build", "pull", "quiet_pull", "quiet_build", "timeout")


def _click_parse(argv: list[str]) -> dict[str, Any] | None:
    """What click makes of ``argv`` (group options, then up's), or None when it refuses it."""
    try:
        top = cli.make_context("pystack", list(argv), resilient_parsing=False)
        name, cmd, rest = cli.resolve_command(top, [*top._protected_args, *top.args])
        assert name == "up" and cmd is not None
        params = cmd.make_context(name, rest, parent=top).params
    except (click.exceptions.UsageError, click.exceptions.BadParameter, click.exceptions.Exit):
        return None
    out = {key: top.params[key] for key in GLOBAL_KEYS}
    for key in ("files", "profiles", "env_files"):
        out[key] = tuple(out[key])
    out.update({key: params[key] for key in UP_KEYS})
    out["services"] = tuple(params["services"])
    return out


def _fast_parse(argv: list[str]) -> dict[str, Any] | None:
    call = up_argv.parse(argv)
    if call is None:
        return None
    out = {key: getattr(call.globals, key) for key in GLOBAL_KEYS}
    out.update({key: getattr(call.request, key) for key in UP_KEYS if key != "detach"})
    out["detach"] = call.detach
    out["services"] = call.request.services
    return out


READ_HERE = [  # command lines the fast path takes: each must mean exactly what click makes of it
    "up -d",
    "up --detach",
    "up --wait",
    "-f stack.yaml up -d",
    "-f a.yaml -f b.yaml --file c.yaml -p demo up -d web",
    "-fstack.yaml -pdemo up -d",
    "--file=stack.yaml --project-name=demo up -d",
    "-p demo -p other up -d",
    "--project-directory /srv/app --profile dev --profile debug up -d",
    "--env-file a.env --env-file=b.env up -d",
    "--root /tmp/r up -d",
    "--root= up -d",
    "--ansi never --progress plain up -d",
    "--progress=json --ansi=always up -d",
    "--compatibility --parallel 4 up -d",
    "--parallel=-1 up -d",
    "--debug up -d",
    "up -d web api",
    "up web -d api",
    "up -d -- web",
    "up -d --remove-orphans --force-recreate --always-recreate-deps --no-deps",
    "up -d -V --renew-anon-volumes --quiet-pull --quiet-build",
    "up -d --build",
    "up -d --no-build",
    "up -d --build --no-build",
    "up -d --no-build --build",
    "up -d -y",
    "up -d --yes",
    "up --wait --wait-timeout 30",
    "up --wait --wait-timeout=2.5",
    "up -d -t 5",
    "up -d -t5",
    "up -d --timeout=0",
    "up -d --pull always",
    "up -d --pull=never",
    "up -d --pull missing --pull policy",
    "up -d --wait",
]

LEFT_TO_CLICK = [  # command lines the fast path leaves to click (which runs or refuses them)
    "up",  # a foreground up
    "up web",
    "up --build",
    "up -d --scale web=2",
    "up -d --no-start",
    "up -d --no-recreate",
    "up -d --force-recreate --no-recreate",
    "up -d --abort-on-container-exit",
    "up -d --watch",
    "up -d --dry-run",
    "--dry-run up -d",
    "up -d --help",
    "up -h",
    "--help up -d",
    "--version up -d",
    "up -d --nosuch",
    "up -dV",
    "up -d --detach=1",
    "up -d --pull sometimes",
    "up -d --pull",
    "up -d -t",
    "up -d -t soon",
    "up -d --wait-timeout -1",
    "up -d -",
    "--ansi sometimes up -d",
    "--progress up -d",
    "--parallel many up -d",
    "-f up -d",
    "-f -x.yaml up -d",
    "-- up -d",
    "-p",
    "ps -d",
    "down up -d",
    "--nosuch up -d",
]


def _argv(template: str) -> list[str]:
    return template.split()


@pytest.mark.parametrize("template", READ_HERE)
def test_what_the_fast_path_reads_click_reads_the_same(template: str) -> None:
    argv = _argv(template)
    fast = _fast_parse(argv)
    assert fast is not None, argv
    assert fast == _click_parse(argv)


@pytest.mark.parametrize("template", LEFT_TO_CLICK)
def test_the_rest_goes_to_click(template: str) -> None:
    assert up_argv.parse(_argv(template)) is None


ENVIRONMENTS = [  # variables click reads for options the command line leaves unset
    {"PYSTACK_ROOT": "/tmp/elsewhere"},
    {"COMPOSE_ANSI": "never", "COMPOSE_PROGRESS": "quiet"},
    {"COMPOSE_COMPATIBILITY": "1", "COMPOSE_PARALLEL_LIMIT": "3"},
    {"COMPOSE_COMPATIBILITY": " Yes ", "COMPOSE_REMOVE_ORPHANS": "true"},
    {"COMPOSE_COMPATIBILITY": "off", "COMPOSE_REMOVE_ORPHANS": "0"},
    {"COMPOSE_REMOVE_ORPHANS": "", "COMPOSE_ANSI": ""},  # empty counts as unset
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("template", ["up -d", "--root /r --ansi auto --parallel 2 up -d --remove-orphans"])
def test_variables_are_read_as_click_reads_them(env: dict[str, str], template: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fast = _fast_parse(_argv(template))
    assert fast is not None
    assert fast == _click_parse(_argv(template))


@pytest.mark.parametrize("env", [{"COMPOSE_ANSI": "sometimes"}, {"COMPOSE_PROGRESS": "loud"},
                                 {"COMPOSE_COMPATIBILITY": "maybe"}, {"COMPOSE_PARALLEL_LIMIT": "lots"},
                                 {"COMPOSE_REMOVE_ORPHANS": "perhaps"}])
def test_a_variable_click_would_refuse_goes_to_click(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert up_argv.parse(["up", "-d"]) is None
    assert _click_parse(["up", "-d"]) is None


def test_click_refuses_what_the_fast_path_leaves_for_it_to_refuse() -> None:
    """The values the reader checks are checked because click refuses them, with its message."""
    for template in ("up -d --pull sometimes", "up -d -t soon", "--ansi sometimes up -d", "up -d --nosuch"):
        assert _click_parse(_argv(template)) is None, template


@pytest.mark.parametrize("setting", ["COMPOSE_ANSI=never", "COMPOSE_REMOVE_ORPHANS=1"])
def test_an_env_file_with_a_setting_goes_to_click(setting: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The group reads those settings from the project's .env after its options: click does it."""
    (tmp_path / ".env").write_text(f"TAG=1\n{setting}\n")
    monkeypatch.chdir(tmp_path)
    assert up_argv.try_run(["up", "-d"]) is None
    (tmp_path / ".env").write_text("TAG=1\n")
    call = up_argv.parse(["up", "-d"])
    assert call is not None and not fast_argv.leaves_to_click(call.globals, {})


def test_a_stack_in_a_registry_goes_to_click() -> None:
    call = up_argv.parse(["-f", "oci://127.0.0.1:5000/app:1", "up", "-d"])
    assert call is not None and fast_argv.leaves_to_click(call.globals, {})
    plain = up_argv.parse(["up", "-d"])
    assert plain is not None
    assert fast_argv.leaves_to_click(plain.globals, {"COMPOSE_FILE": "oci://127.0.0.1:5000/app:1"})


def test_read_options_rules() -> None:
    table = fast_argv.Table(flags={"-x": ("x", True)}, values={"-v": ("v", int), "--v": ("v", int)},
                            multiple=frozenset())
    assert fast_argv.read_options(table, ["a", "-x", "--", "-x"], interspersed=True) == ({"x": True}, ["a", "-x"])
    assert fast_argv.read_options(table, ["-v1", "--v=2", "b"], interspersed=False) == ({"v": 2}, ["b"])
    assert fast_argv.read_options(table, ["-x", "cmd", "-x"], interspersed=False) == ({"x": True}, ["cmd", "-x"])
    for bad in (["-"], ["-v"], ["-v", "-1"], ["-v", "one"], ["-xx"], ["--x"], ["-x=1"]):
        with pytest.raises(fast_argv.Unreadable):
            fast_argv.read_options(table, bad, interspersed=True)
