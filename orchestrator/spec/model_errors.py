"""Pydantic's errors in the stack file's own words: ``file:line:col: key: message``.

Pydantic locations are paths in the normalized data, which keeps the stack file's key names (the
resource and restart models are mapped back to the keys users wrote). Union branches add tags to
locations; walking the data alongside the location drops them.
"""

from __future__ import annotations

from typing import Any

from orchestrator.spec.models.resources import SERVICE_RESOURCE_KEYS
from orchestrator.spec.models.support import SERVICE_KEYS
from orchestrator.spec.models.units import show
from orchestrator.spec.report import Path_, Report

_RESOURCE_TO_KEY = {field: key for key, (field, _) in SERVICE_RESOURCE_KEYS.items()}
_RESOURCE_TO_KEY.update({"ulimits": "ulimits", "blkio": "blkio_config"})

_TYPE_MESSAGES = {
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "too_short": "is too short",
    "too_long": "is too long",
}


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path_:
    """Keep the parts of ``loc`` that exist in ``data`` (dropping union tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not _looks_like_tag(part):
            path.append(part)  # a missing or unknown key: still the user's name
            node = None
        # else: a union/validator tag — skip it
    return tuple(path)


def _looks_like_tag(part: str) -> bool:
    return any(c in part for c in "[]()") or part in ("int", "str", "float", "bool", "dict", "list",
                                                       "tuple", "none", "nullable")


def _user_path(path: Path_) -> Path_:
    """Map model-only fields back to the compose keys that produced them."""
    if len(path) >= 4 and path[0] == "services" and path[2] == "resources":
        key = _RESOURCE_TO_KEY.get(str(path[3]), str(path[3]))
        return (*path[:2], key, *path[4:])
    return path


def _message(err: dict[str, Any], key: str | int | None) -> str:
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        known: list[str] = []
        return _unknown(str(key), known)
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"invalid value {show(value)}: must be {expected}"
    if kind in _TYPE_MESSAGES:
        return f"invalid value {show(value)}: {_TYPE_MESSAGES[kind]}"
    if kind == "value_error":
        text = str(err.get("msg", ""))
        return text.removeprefix("Value error, ")
    return f"invalid value {show(value)}"


def _unknown(key: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, known, n=1)
    return f'unknown key{f" (did you mean {close[0]!r}?)" if close else ""}'


def report_validation_error(exc: Any, data: Any, prefix: Path_, report: Report) -> None:
    """Record every error of a pydantic ``ValidationError`` raised validating ``data`` at ``prefix``."""
    for err in exc.errors():
        path = _data_path(data, tuple(err["loc"]))
        full = _user_path((*prefix, *path))
        key = full[-1] if full else None
        if err["type"] == "extra_forbidden":
            known = list(SERVICE_KEYS) if len(full) == 3 and full[0] == "services" else []
            report.error(full, _unknown(str(key), known), at_key=True)
        else:
            report.error(full, _message(err, key))
