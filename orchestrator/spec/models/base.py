"""The base of every stack model: immutable, strict about unknown keys, built once at import."""

from __future__ import annotations

import os

# pydantic scans every installed distribution for plugins when it builds the first validator
# (tens of milliseconds at each CLI start); pystack uses none. Restored by models/__init__.
_PLUGINS_VAR = "PYDANTIC_DISABLE_PLUGINS"
_SET_PLUGINS_VAR = _PLUGINS_VAR not in os.environ
if _SET_PLUGINS_VAR:
    os.environ[_PLUGINS_VAR] = "__all__"

from pydantic import BaseModel, ConfigDict  # noqa: E402


class Model(BaseModel):
    """Frozen (a loaded stack is a value) and ``extra="forbid"`` (unknown keys are errors)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def restore_environment() -> None:
    """Undo the plugin switch once every model class is built, so child processes see the real env."""
    if _SET_PLUGINS_VAR:
        os.environ.pop(_PLUGINS_VAR, None)
