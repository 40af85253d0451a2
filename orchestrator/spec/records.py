"""A loaded stack as plain frozen records, so that a load-cache hit never imports pydantic.

Importing pydantic and defining the stack's ~30 model classes costs ~0.16 s, about half of what a
small command such as ``run -d`` or an ``up`` with nothing to do costs in all. Yet a cached stack
was validated when it was stored, and what later stages read of it is its fields and a few methods
(:mod:`orchestrator.spec.behaviour`). So the cache also stores the stack as records: one
plain object per model instance, with the model's class name, the same field values and the same
methods. Stages below ``spec`` read records and models alike; what needs the models themselves
(``config``'s serialization) asks the cache for them.

A record is frozen like its model, equal to a record of the same class and fields, and pickles
as a call to :func:`record` (so it can cross a process boundary without pydantic either).
"""

from __future__ import annotations

from typing import Any

from orchestrator.spec.behaviour import RestartBehaviour, ServiceBehaviour, StackBehaviour

# The model classes whose records need methods besides fields. Private attributes (``_json``) are
# kept beside the fields; records have no other behaviour of their models (validation, dumping).
_BEHAVIOUR: dict[str, type] = {
    "Stack": StackBehaviour,
    "Service": ServiceBehaviour,
    "RestartPolicy": RestartBehaviour,
}


class Record:
    """One model instance's fields as attributes; ``__setattr__`` refuses, as a frozen model does."""

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen (a cached stack record)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen (a cached stack record)")

    def _fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self._fields().values())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields().items())
        return f"{type(self).__name__}({inner})"

    def __reduce__(self) -> tuple[Any, tuple[str, dict[str, Any]]]:
        return record, (type(self).__name__, dict(self.__dict__))


_classes: dict[str, type[Record]] = {}


def record_class(name: str) -> type[Record]:
    cls = _classes.get(name)
    if cls is None:
        behaviour = _BEHAVIOUR.get(name)
        bases: tuple[type, ...] = (Record, behaviour) if behaviour is not None else (Record,)
        cls = type(name, bases, {"__module__": __name__, "__qualname__": name})
        _classes[name] = cls
    return cls


def record(name: str, values: dict[str, Any]) -> Record:
    """The record of a ``name`` model with these field values (and private attributes)."""
    obj = object.__new__(record_class(name))
    object.__getattribute__(obj, "__dict__").update(values)
    return obj


def is_record_of(obj: object, name: str) -> bool:
    return isinstance(obj, Record) and type(obj).__name__ == name


def to_records(value: Any) -> Any:
    """Models (anything with ``model_fields``) become records, recursively through dicts, lists and
    tuples (rebuilt, as pickling would copy them); every other value is kept as it is."""
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        values = {name: to_records(getattr(value, name)) for name in fields}
        private = getattr(value, "__pydantic_private__", None) or {}
        values.update({name: to_records(v) for name, v in private.items()})
        return record(type(value).__name__, values)
    if isinstance(value, dict):
        return {k: to_records(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_records(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_records(v) for v in value)
    return value
