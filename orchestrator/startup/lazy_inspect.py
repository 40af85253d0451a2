"""The standard library's ``inspect`` is imported when a command first uses it, not when ``dataclasses`` names it.

``dataclasses`` imports ``inspect`` at its top, and with it ``ast``, ``dis``, ``tokenize`` and
``linecache``: about 6 ms of every command (measured: 45.9 → 39.4 ms for the imports of a runtime
verb, median of 30). Yet ``dataclasses`` itself only calls ``inspect.signature`` for a class that
has no docstring, and the commands that skip click (``runtime_argv``, ``up_argv``) may never call
it at all. Click, pydantic and the others that do use it get the real module at their first use.

:func:`install` puts a stand-in under ``sys.modules["inspect"]``. ``import inspect`` finds it and
binds it as it would bind the module (the stand-in has its own ``__spec__``, which the import
statement reads, so that reading loads nothing). The first attribute read through it imports the
real module, which then replaces the stand-in in ``sys.modules`` and lends the stand-in its
namespace, so that a module holding the stand-in sees exactly the real one's attributes from then
on. Only ``__path__`` is answered without loading (``inspect`` is not a package; ``from inspect
import x`` asks). :func:`install` does nothing once ``inspect`` is imported.
"""

from __future__ import annotations

import sys
import types
from importlib.machinery import ModuleSpec
from typing import Any

NAME = "inspect"


class _Deferred(types.ModuleType):
    """Stands for ``inspect`` until one of its attributes is read."""

    def __getattr__(self, attr: str) -> Any:
        if attr == "__path__":
            raise AttributeError(attr)
        return getattr(load(self), attr)


def load(stand_in: types.ModuleType) -> types.ModuleType:
    """The real module, imported now if it was not; the stand-in takes its namespace."""
    import importlib

    if sys.modules.get(NAME) is stand_in:
        del sys.modules[NAME]
    real = importlib.import_module(NAME)
    stand_in.__dict__.update(real.__dict__)
    return real


def install() -> None:
    if NAME in sys.modules:
        return
    stand_in = _Deferred(NAME)
    stand_in.__spec__ = ModuleSpec(NAME, None)
    sys.modules[NAME] = stand_in


def is_deferred() -> bool:
    """Whether ``inspect`` is still the stand-in: what a test reads to see the import spared."""
    return isinstance(sys.modules.get(NAME), _Deferred)
