"""How ``COMPOSE_FILE`` is split when it names a published stack: a reference holds colons."""

from __future__ import annotations

from orchestrator.cli.remote_stack import compose_file_entries


def test_a_lone_reference_is_not_split_on_the_default_colon() -> None:
    assert compose_file_entries("oci://localhost:5000/team/app:1", None) == ["oci://localhost:5000/team/app:1"]


def test_an_explicit_separator_splits_references_and_files() -> None:
    assert compose_file_entries("oci://r:5000/a:1,local.yaml,,", ",") == ["oci://r:5000/a:1", "local.yaml"]


def test_local_files_split_on_the_default_separator() -> None:
    assert compose_file_entries("a.yaml:b.yaml", None) == ["a.yaml", "b.yaml"]
