"""``build.ssh`` / ``--ssh`` entries: Docker's ``default|ID[=SOCKET|KEY[,KEY]]`` form."""

from __future__ import annotations

import pytest

from orchestrator.errors import ImageError
from orchestrator.images.build.ssh_agents import SshSource, parse_sources
from orchestrator.spec.models.build import normalize_build


def test_entries_parse_to_ids_and_paths() -> None:
    got = parse_sources(["default", "deploy=/k/a,/k/b", "agent=/run/a.sock", "deploy=/k/c"], "svc")
    assert got == [SshSource("default"), SshSource("deploy", ("/k/c",)), SshSource("agent", ("/run/a.sock",))]


@pytest.mark.parametrize("entry", ["=/k", "deploy=", "deploy=,"])
def test_an_entry_without_id_or_path_is_refused(entry: str) -> None:
    with pytest.raises(ImageError, match="ssh"):
        parse_sources([entry], "svc")


def test_file_paths_are_resolved_from_the_project_and_home() -> None:
    got = normalize_build({"context": ".", "ssh": ["default", "deploy=./keys/a,~/.ssh/b"]}, "/proj", "/home/u")
    assert got["ssh"] == ["default", "deploy=/proj/keys/a,/home/u/.ssh/b"]
    mapping = normalize_build({"context": ".", "ssh": {"default": None, "k": "key"}}, "/proj", None)
    assert mapping["ssh"] == ["default", "k=/proj/key"]


@pytest.mark.parametrize("entry", ["=/k", "deploy=", " "])
def test_a_bad_entry_in_the_file_is_refused_at_load(entry: str) -> None:
    from orchestrator.spec.models.units import Invalid

    with pytest.raises(Invalid, match="invalid ssh"):
        normalize_build({"context": ".", "ssh": [entry]}, "/proj", None)
