"""Compose's scalar mini-languages: durations, byte sizes, booleans, key=value lists.

Pure functions that raise :class:`Invalid` with a message meant for the user; the caller adds the
file position. Kept free of pydantic so the hot path of normalization stays cheap.
"""


from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping
from typing import Any


class Invalid(ValueError):
    """A value that cannot be understood; ``subpath`` locates it below the key being normalized."""

    def __init__(self, message: str, subpath: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.subpath = subpath


class MultiInvalid(Invalid):
    """Several independent problems found in one list, each with its own sub-path."""

    def __init__(self, errors: list[Invalid]) -> None:
        super().__init__(errors[0].message, errors[0].subpath)
        self.errors = errors


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)")
_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3,
    "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0,
}


def parse_duration(value: Any) -> float:
    """Seconds from a Go-style duration (``1m30s``, ``500ms``) or a bare number of seconds."""
    if isinstance(value, bool):
        raise Invalid(f"invalid duration {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise Invalid(f"invalid duration {value!r}: must be a finite, non-negative number of seconds")
        return float(value)
    if not isinstance(value, str):
        raise Invalid(f"invalid duration {value!r}: must be a string like '1m30s'")
    text = value.strip()
    if text in ("0", ""):
        if text == "":
            raise Invalid('invalid duration "": empty')
        return 0.0
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number) or number < 0:
            raise Invalid(f'invalid duration "{value}": must be a finite, non-negative number of seconds')
        return number
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise Invalid(f'invalid duration "{value}": expected a number with a unit (ns, us, ms, s, m, h), e.g. "1m30s"')
    return total


def format_duration(seconds: float) -> str:
    """The shortest Go-style duration that reads back to ``seconds`` (``90.0`` → ``1m30s``)."""
    if seconds == 0:
        return "0s"
    micros = round(seconds * 1_000_000)
    if micros % 1_000_000:
        if micros % 1000 == 0:
            return f"{micros // 1000}ms"
        return f"{micros}us"
    whole = micros // 1_000_000
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    if hours:
        out += f"{hours}h"
    if minutes:
        out += f"{minutes}m"
    if secs:
        out += f"{secs}s"
    return out


_SIZE = re.compile(r"^(\d+(?:\.\d+)?|\.\d+) ?([kmgtp])?(i)?(b)?$", re.IGNORECASE)
_SIZE_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_size(value: Any) -> int:
    """Bytes from a size like Docker's ``RAMInBytes`` (``512m``, ``1.5g``, ``100kb``): powers of 1024."""
    if isinstance(value, bool):
        raise Invalid(f"invalid size {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise Invalid(f"invalid size {value!r}: bytes must be a whole number")
        return int(value)
    if not isinstance(value, str):
        raise Invalid(f"invalid size {value!r}: must be a number of bytes or a string like '512m'")
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    match = _SIZE.match(text)
    if not match:
        raise Invalid(f'invalid size "{value}": expected a number with an optional unit '
                      '(b, k, m, g, t, p), e.g. "512m"')
    unit = (match.group(2) or "").lower()
    if not unit and match.group(3):
        raise Invalid(f'invalid size "{value}"')
    return int(float(match.group(1)) * (1024 ** _SIZE_POWERS[unit]))


_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


def parse_bool(value: Any) -> bool:
    """A YAML 1.1-ish boolean; strings come from interpolation (``${DEBUG:-false}``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise Invalid(f"invalid boolean {value!r}: must be true or false")


def parse_int(value: Any, what: str = "integer") -> int:
    if isinstance(value, bool):
        raise Invalid(f"invalid {what} {value!r}: must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise Invalid(f"invalid {what} {value!r}: must be an integer")


def parse_float(value: Any, what: str = "number") -> float:
    if isinstance(value, bool):
        raise Invalid(f"invalid {what} {value!r}: must be a number")
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value.strip())
    if number is None or not math.isfinite(number):
        raise Invalid(f"invalid {what} {value!r}: must be a number")
    return number


def scalar_str(value: Any, what: str = "value") -> str:
    """A YAML scalar as the string Compose would see (``true`` → ``"true"``, ``1.0`` → ``"1.0"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise Invalid(f"invalid {what} {value!r}: must be a string")


def expect_str(value: Any, what: str = "value") -> str:
    if not isinstance(value, str):
        raise Invalid(f"invalid {what} {_show(value)}: must be a string")
    return value


def string_list(value: Any, what: str = "entry", *, allow_single: bool = False) -> list[str]:
    """A list of scalars as strings; a single string too when the key allows ``string_or_list``."""
    if isinstance(value, str) and allow_single:
        return [value]
    if not isinstance(value, list):
        raise Invalid(f"must be a list{' or a string' if allow_single else ''}, not {_kind(value)}")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict | list) or item is None:
            raise Invalid(f"invalid {what} {_show(item)}: must be a string", (i,))
        out.append(scalar_str(item, what))
    return out


def list_or_dict(value: Any, what: str, *, sep: str = "=", keep_none: bool = True) -> dict[str, str | None]:
    """``["A=1", "B"]`` or ``{A: 1, B: null}`` → ``{"A": "1", "B": None}`` (Compose's list_or_dict)."""
    out: dict[str, str | None] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                key = scalar_str(key, "key")
            if item is None:
                out[key] = None if keep_none else ""
            elif isinstance(item, dict | list):
                raise Invalid(f"invalid {what} value for {key!r}: must be a string, a number or a boolean", (key,))
            else:
                out[key] = scalar_str(item, what)
        return out
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise Invalid(f"invalid {what} {_show(item)}: must be a \"KEY{sep}VALUE\" string", (i,))
            key, found, rest = item.partition(sep)
            if not key:
                raise Invalid(f'invalid {what} "{item}": empty name', (i,))
            out[key] = rest if found else (None if keep_none else "")
        return out
    raise Invalid(f"must be a mapping or a list of \"KEY{sep}VALUE\" strings, not {_kind(value)}")


def drop_x(value: dict[str, Any]) -> dict[str, Any]:
    """An object without its ``x-*`` extension keys (the schema allows them on every object)."""
    if not any(isinstance(k, str) and k.startswith("x-") for k in value):
        return dict(value)
    return {k: v for k, v in value.items() if not (isinstance(k, str) and k.startswith("x-"))}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def kind(value: Any) -> str:
    return _kind(value)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return _kind(value) if isinstance(value, dict | list) or value is None else repr(value)


def show(value: Any) -> str:
    return _show(value)
