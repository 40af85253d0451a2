"""``specs/stack.schema.json``: the JSON Schema of the normalized stack, generated from the models.

``python -m orchestrator.spec.schema -o specs/stack.schema.json`` writes it; ``--check FILE``
exits 1 when the file is stale (``make lint`` runs it, so CI fails on a forgotten regeneration).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

SCHEMA_ID = "https://pystack.invalid/specs/stack.schema.json"


def generate() -> dict[str, Any]:
    from orchestrator.spec.models import Service, Stack
    from orchestrator.spec.models.support import SERVICE_KEYS, TOP_LEVEL_KEYS

    schema = Stack.model_json_schema(mode="serialization")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "pystack normalized stack",
        "description": "The model pystack loads a Compose file into (every short syntax in its long form). "
        "Generated from orchestrator/spec/models; do not edit.",
        **{k: v for k, v in schema.items() if k != "title"},
    }
    schema["x-pystack-service-keys"] = {k: {"status": v.status, "note": v.note} for k, v in SERVICE_KEYS.items()}
    schema["x-pystack-top-level-keys"] = {k: {"status": v.status, "note": v.note} for k, v in TOP_LEVEL_KEYS.items()}
    schema["x-pystack-service-fields"] = sorted(Service.model_fields)
    return schema


def render() -> str:
    return json.dumps(generate(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.spec.schema", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-o", "--output", help="write the schema to this file")
    group.add_argument("--check", metavar="FILE", help="exit 1 when FILE differs from the generated schema")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        try:
            with open(args.check, encoding="utf-8") as fh:
                current = fh.read()
        except OSError as exc:
            print(f"{args.check}: {exc.strerror}", file=sys.stderr)
            return 1
        if current != text:
            print(f"{args.check} is stale: run `make schema` (python -m orchestrator.spec.schema -o {args.check})",
                  file=sys.stderr)
            return 1
        return 0
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
