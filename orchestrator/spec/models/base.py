"""The base of every stack model: immutable, strict about unknown keys, its validator built when first used.

``defer_build``: a model's core schema (most of the cost of defining the classes) is made on its
first validation or serialization, so a command whose stack comes from the load cache (unpickled,
never validated) does not pay for it.
"""

from __future__ import annotations

import os
from typing import Any

# pydantic scans every installed distribution for plugins when it builds the first validator
# (tens of milliseconds at each CLI start); pystack uses none. Restored by models/__init__.
_PLUGINS_VAR = "PYDANTIC_DISABLE_PLUGINS"
_SET_PLUGINS_VAR = _PLUGINS_VAR not in os.environ
if _SET_PLUGINS_VAR:
    os.environ[_PLUGINS_VAR] = "__all__"

from pydantic import BaseModel, ConfigDict  # noqa: E402


class Model(BaseModel):
    """Frozen (a loaded stack is a value) and ``extra="forbid"`` (unknown keys are errors)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    @classmethod
    def model_rebuild(
        cls,
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Any = None,
    ) -> bool | None:
        """pydantic builds a deferred schema through here (first validation or serialization)."""
        _no_plugins()
        return super().model_rebuild(force=force, raise_errors=raise_errors,
                                     _parent_namespace_depth=_parent_namespace_depth + 1,
                                     _types_namespace=_types_namespace)


def _no_plugins() -> None:
    """Deferred validators are built after ``restore_environment``, so the switch above is gone by then:
    tell pydantic its plugin scan is done (found none) instead. Only when pystack set the switch itself."""
    if not _SET_PLUGINS_VAR:
        return
    try:
        from pydantic.plugin import _loader
    except ImportError:  # another pydantic layout: the scan only costs time
        return
    if getattr(_loader, "_plugins", False) is None:
        _loader._plugins = {}


def restore_environment() -> None:
    """Undo the plugin switch once every model class is built, so child processes see the real env."""
    if _SET_PLUGINS_VAR:
        os.environ.pop(_PLUGINS_VAR, None)
