"""Validate documents against the OCI image-spec schemas in ../shared (draft-04, $ref to siblings)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.helpers.shared import SHARED

SCHEMA_DIR = Path(SHARED, "oci/image-spec/schema")
FILES = {"manifest": "image-manifest-schema.json", "index": "image-index-schema.json",
         "config": "config-schema.json", "layout": "image-layout-schema.json"}


def _retrieve(uri: str) -> Resource[Any]:
    # Every $ref names a sibling file, whatever base URI the schema's nested "id"s set.
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    return Resource.from_contents(json.loads((SCHEMA_DIR / name).read_text()), default_specification=DRAFT4)


@cache
def _validator(kind: str) -> jsonschema.Draft4Validator:
    schema = json.loads((SCHEMA_DIR / FILES[kind]).read_text())
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    return jsonschema.Draft4Validator(schema, registry=registry, format_checker=jsonschema.FormatChecker())


def validate(kind: str, doc: Any) -> None:
    _validator(kind).validate(doc)
