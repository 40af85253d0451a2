"""Reading what pystack prints for scripts."""

from __future__ import annotations

import json
from typing import Any


def json_lines(text: str) -> list[Any]:
    """JSON Lines (``ps --format json``, as Compose's since v2.21): one object per non-empty line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
