"""The smoke test's verdict: a pystack figure fails the run only when its command exists and failed."""

from __future__ import annotations

from bench.model import Figure
from bench.run import collapse, parse_args, pystack_failures


def _fig(**pystack: object) -> dict[str, object]:
    fig = Figure("x", "s", "t").to_dict()
    fig["pystack"].update(pystack)  # type: ignore[union-attr]
    return fig


def test_unavailable_commands_do_not_fail_the_run() -> None:
    assert pystack_failures([_fig(unavailable="`pystack up` does not exist yet")]) == []


def test_a_measured_figure_passes_and_a_failed_run_fails() -> None:
    assert pystack_failures([_fig(n=3, median=1.0)]) == []
    assert pystack_failures([_fig(n=2, failed=1, errors=["exit 1: boom"])]) == ["x: exit 1: boom"]


def test_an_attempted_figure_without_any_counted_run_fails() -> None:
    assert pystack_failures([_fig(n=0)]) == ["x: no counted run"]


def test_leak_lines_are_collapsed_per_distinct_command() -> None:
    assert collapse(["process 1 pystack up", "process 2 pystack up", "mount /a"]) == [
        "2 × process pystack up", "mount /a"]


def test_only_and_groups_are_checked() -> None:
    args = parse_args(["--quick", "--only", "pystack,crun", "--groups", "runtime"])
    assert args.only == {"pystack", "crun"} and args.groups == {"runtime"} and args.quick
    import pytest

    with pytest.raises(SystemExit):
        parse_args(["--only", "kubernetes"])


def test_failed_commands_are_shown_short() -> None:
    from bench.cmd import short_argv

    argv = ["/root/.pyenv/versions/3.11.7/bin/pystack", "--root", "/tmp/psbench-x/pystack-root",
            "-f", "/work/main/bench/fixtures/stack5.yaml", "-p", "psbench-s5", "up", "-d"]
    assert short_argv(argv) == "pystack -f stack5.yaml -p psbench-s5 up -d"
