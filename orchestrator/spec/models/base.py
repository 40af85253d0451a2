"""The base of every stack model: immutable, strict about unknown keys, built once at import."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Frozen (a loaded stack is a value) and ``extra="forbid"`` (unknown keys are errors)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
