"""Validation against the OCI runtime-spec schemas in ../shared (draft-04, sibling $refs)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.helpers.shared import SHARED

SCHEMA_DIR = Path(SHARED, "oci/runtime-spec/schema")


def _load(uri: str) -> Resource[Any]:
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    return Resource.from_contents(json.loads((SCHEMA_DIR / name).read_text()), default_specification=DRAFT4)


@cache
def _validator(name: str) -> jsonschema.Draft4Validator:
    schema = json.loads((SCHEMA_DIR / name).read_text())
    registry: Registry[Any] = Registry(retrieve=_load)  # type: ignore[call-arg]
    return jsonschema.Draft4Validator(schema, registry=registry)


def validate_config(doc: Any) -> None:
    _validator("config-schema.json").validate(doc)


def validate_state(doc: Any) -> None:
    _validator("state-schema.json").validate(doc)
