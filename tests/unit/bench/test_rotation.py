"""Tools are alternated: each repetition runs every tool once, starting with a different one."""

from __future__ import annotations

from bench.figures.common import rotations


def test_every_repetition_runs_each_tool_once_in_a_rotated_order() -> None:
    order = list(rotations(["pystack", "podman", "docker"], 4))
    assert [t for r, t in order if r == 0] == ["pystack", "podman", "docker"]
    assert [t for r, t in order if r == 1] == ["podman", "docker", "pystack"]
    assert [t for r, t in order if r == 3] == ["pystack", "podman", "docker"]
    assert len(order) == 12


def test_no_tools_means_no_runs() -> None:
    assert list(rotations([], 5)) == []
