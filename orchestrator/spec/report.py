"""Collects every problem of a stack file before reporting, so users see all errors at once."""

from __future__ import annotations

from typing import Protocol

from orchestrator.errors import SpecError, SpecErrors

Path_ = tuple[str | int, ...]


class _Pos(Protocol):
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...


class PositionLookup(Protocol):
    def get(self, path: Path_) -> _Pos | None: ...

    def get_key(self, path: Path_) -> _Pos | None: ...


def key_string(path: Path_) -> str:
    """``("services", "api", "ports", 1)`` → ``services.api.ports[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def printable(text: str) -> str:
    """Control characters escaped, so every error stays on its one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Report:
    def __init__(self, positions: PositionLookup | None = None) -> None:
        self.positions = positions
        self.errors: list[SpecError] = []
        self.warnings: list[str] = []
        self._seen: set[tuple[str, str]] = set()

    def _locate(self, path: Path_, at_key: bool = False) -> _Pos | None:
        if self.positions is None:
            return None
        try:
            return self.positions.get_key(path) if at_key else self.positions.get(path)
        except Exception:  # a position is a nicety; never let it hide the error itself
            return None

    def error(self, path: Path_, message: str, *, at_key: bool = False) -> None:
        key = printable(key_string(path))
        message = printable(message)
        if (key, message) in self._seen:
            return
        self._seen.add((key, message))
        pos = self._locate(path, at_key)
        self.errors.append(
            SpecError(message, file=pos.file if pos else None, line=pos.line if pos else None,
                      column=pos.column if pos else None, key=key or None)
        )

    def warn(self, path: Path_, message: str) -> None:
        pos = self._locate(path)
        where = f"{pos.file}:{pos.line}:{pos.column}: " if pos else ""
        key = printable(key_string(path))
        message = printable(message)
        line = f"{where}{key + ': ' if key else ''}{message}"
        if line not in self.warnings:
            self.warnings.append(line)

    def raise_if_errors(self) -> None:
        if self.errors:
            self.errors.sort(key=lambda e: (e.file or "", e.line or 0, e.column or 0))
            raise SpecErrors(self.errors)
