"""The support table covers the official schema; the generated schema and reference are up to date."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.spec import reference, schema
from orchestrator.spec.models.support import SERVICE_KEYS, TOP_LEVEL_KEYS
from tests.helpers.shared import SHARED

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_SCHEMA = Path(SHARED, "compose-spec/schema/compose-spec.json")


def test_every_compose_service_key_has_a_status() -> None:
    official = json.loads(COMPOSE_SCHEMA.read_text())["$defs"]["service"]["properties"]
    assert set(SERVICE_KEYS) == set(official)


def test_every_compose_top_level_key_has_a_status() -> None:
    official = json.loads(COMPOSE_SCHEMA.read_text())["properties"]
    assert set(TOP_LEVEL_KEYS) == set(official)


def test_schema_file_is_fresh() -> None:
    assert (ROOT / "specs" / "stack.schema.json").read_text() == schema.render(), "run `make schema`"


def test_schema_check_command(tmp_path: Path) -> None:
    stale = tmp_path / "s.json"
    stale.write_text("{}")
    assert schema.main(["--check", str(stale)]) == 1
    assert schema.main(["--check", str(ROOT / "specs" / "stack.schema.json")]) == 0


def test_reference_doc_is_fresh() -> None:
    text = (ROOT / "docs" / "stack-file-reference.md").read_text()
    assert text == reference.render(), "run `python -m orchestrator.spec.reference -o docs/stack-file-reference.md`"


def test_reference_lists_every_key_with_status() -> None:
    text = reference.render()
    for key, info in SERVICE_KEYS.items():
        assert f"| `{key}` | " in text
        if info.status == "warned":
            assert f"| `{key}` | accepted, warns |" in text
