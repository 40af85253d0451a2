"""``.env`` and ``env_file`` parsing by the Compose env-file rules.

- ``#`` lines and blank lines are ignored; an ``export`` prefix is allowed; spaces around the key
  and the separator are trimmed; ``KEY`` alone takes its value from the environment (or is unset).
- Unquoted values end at an inline comment (`` #`` preceded by whitespace), are trimmed, keep
  backslashes, and are interpolated.
- Single-quoted values are literal (only ``\\'`` becomes ``'``) and may span lines.
- Double-quoted values may span lines, understand ``\\n \\r \\t \\\\ \\" \\'`` (and ``\\$`` for a
  literal dollar) and are interpolated.
- Interpolation looks at keys defined earlier in the same file first, then in the given lookup
  (Compose's dotenv does the same; the shell still wins for the final value of a key, which is the
  caller's merge).
- ``format: raw`` files are ``KEY=VALUE`` lines taken verbatim.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from orchestrator.errors import SpecError
from orchestrator.spec.interpolate import InterpolationError, interpolate

Lookup = Callable[[str], str | None]

MAX_ENV_FILE_BYTES = 10 * 1024 * 1024

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}  # fmt: skip
_KEY_PUNCT = set("_.-[]")


def _environ_lookup(name: str) -> str | None:
    return os.environ.get(name)


class _Parser:
    def __init__(self, text: str, filename: str, lookup: Lookup | None) -> None:
        if text.startswith("\ufeff"):
            text = text[1:]
        self.src = text.replace("\r\n", "\n").replace("\r", "\n")
        self.filename = filename
        self.lookup = lookup
        self.pos = 0
        self.line = 1
        self.out: dict[str, str] = {}

    def fail(self, message: str, line: int | None = None) -> SpecError:
        return SpecError(message, file=self.filename, line=line or self.line)

    def _advance_to(self, new_pos: int) -> None:
        self.line += self.src.count("\n", self.pos, new_pos)
        self.pos = new_pos

    def parse(self) -> dict[str, str]:
        src = self.src
        n = len(src)
        while True:
            # skip blank space and comment lines
            while self.pos < n:
                c = src[self.pos]
                if c == "\n":
                    self.line += 1
                    self.pos += 1
                elif c in " \t\f\v":
                    self.pos += 1
                elif c == "#":
                    end = src.find("\n", self.pos)
                    self.pos = n if end < 0 else end
                else:
                    break
            if self.pos >= n:
                return self.out
            self._statement()

    def _statement(self) -> None:
        src = self.src
        n = len(src)
        start_line = self.line
        if src.startswith("export", self.pos) and self.pos + 6 < n and src[self.pos + 6] in " \t":
            self.pos += 7
            while self.pos < n and src[self.pos] in " \t":
                self.pos += 1
        i = self.pos
        while i < n and src[i] not in "=:\n":
            i += 1
        raw_key = src[self.pos : i]
        key = raw_key.strip()
        if not key:
            raise self.fail("missing variable name before the separator", start_line)
        if any(c.isspace() for c in key):
            raise self.fail(f'variable name "{key}" cannot contain a space', start_line)
        for c in key:
            if not (c.isalnum() or c in _KEY_PUNCT):
                raise self.fail(f'unexpected character "{c}" in variable name "{key}"', start_line)
        if i >= n or src[i] == "\n":
            self._advance_to(i)
            value = self.lookup(key) if self.lookup is not None else None
            if value is not None:
                self.out[key] = value
            return
        self._advance_to(i + 1)
        value_start = self.pos
        while self.pos < n and src[self.pos] in " \t":
            self.pos += 1
        if self.pos < n and src[self.pos] in "'\"":
            value = self._quoted(src[self.pos], start_line)
        else:
            end = src.find("\n", self.pos)
            end = n if end < 0 else end
            line = src[value_start:end]  # from the separator, so "A= #x" is a comment
            for j, c in enumerate(line):
                if c == "#" and j > 0 and line[j - 1] in " \t":
                    line = line[:j]
                    break
            self._advance_to(end)
            value = self._expand(line.strip(), start_line)
        self.out[key] = value

    def _quoted(self, quote: str, start_line: int) -> str:
        src = self.src
        n = len(src)
        i = self.pos + 1
        while i < n:
            c = src[i]
            if c == "\\" and i + 1 < n:
                i += 2
                continue
            if c == quote:
                break
            i += 1
        else:
            raise self.fail(f"unterminated {quote}-quoted value", start_line)
        body = src[self.pos + 1 : i]
        self._advance_to(i + 1)
        # only a comment may follow the closing quote
        end = src.find("\n", self.pos)
        end = n if end < 0 else end
        rest = src[self.pos : end].strip()
        if rest and not rest.startswith("#"):
            raise self.fail(f"unexpected text after the closing quote: {rest!r}", self.line)
        self._advance_to(end)
        if quote == "'":
            return body.replace("\\'", "'")
        out: list[str] = []
        j, m = 0, len(body)
        while j < m:
            c = body[j]
            if c == "\\" and j + 1 < m:
                nxt = body[j + 1]
                if nxt == "$":
                    out.append("$$")
                else:
                    out.append(_ESCAPES.get(nxt, "\\" + nxt))
                j += 2
                continue
            out.append(c)
            j += 1
        return self._expand("".join(out), start_line)

    def _expand(self, value: str, line: int) -> str:
        if "$" not in value:
            return value
        outer, here = self.lookup, self.out

        def look(name: str) -> str | None:
            found = here.get(name)
            if found is None and outer is not None:
                found = outer(name)
            return found

        try:
            return interpolate(value, look, on_missing=lambda _name: None)
        except InterpolationError as err:
            raise self.fail(str(err), line) from None


def parse_dotenv(text: str, *, filename: str, lookup: Lookup | None = None) -> dict[str, str]:
    """Parse env-file text; ``lookup`` answers ``KEY``-alone lines and ``$VAR`` references."""
    return _Parser(text, filename, lookup).parse()


def parse_raw(text: str, *, filename: str, lookup: Lookup | None = None) -> dict[str, str]:
    """``format: raw``: ``KEY=VALUE`` per line, values verbatim (quotes and ``$`` kept)."""
    out: dict[str, str] = {}
    if text.startswith("\ufeff"):
        text = text[1:]
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            found = lookup(key) if lookup is not None else None
            if found is not None:
                out[key] = found
            continue
        out[key] = value
    return out


def read_env_file(
    path: Path,
    *,
    required: bool = True,
    lookup: Lookup | None = _environ_lookup,
    format: str | None = None,
    display: str | None = None,
) -> dict[str, str]:
    """Read and parse one env file; a missing optional file is empty, a missing required one an error."""
    name = display or str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_ENV_FILE_BYTES + 1)
    except FileNotFoundError:
        if not required:
            return {}
        raise SpecError(f"env file {path} not found", file=name) from None
    except OSError as err:
        raise SpecError(f"cannot read env file {path}: {err.strerror}", file=name) from None
    except ValueError:  # a NUL byte in the path
        raise SpecError(f"invalid env file name {str(path)!r}", file=name) from None
    if len(data) > MAX_ENV_FILE_BYTES:
        raise SpecError(f"env file is larger than {MAX_ENV_FILE_BYTES // (1024 * 1024)} MiB", file=name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"env file is not valid UTF-8 (byte {err.start})", file=name) from None
    if format in (None, "", "dotenv"):
        return parse_dotenv(text, filename=name, lookup=lookup)
    if format == "raw":
        return parse_raw(text, filename=name, lookup=lookup)
    raise SpecError(f'unsupported env file format "{format}" (supported: dotenv, raw)', file=name)


def lookup_in(*maps: Mapping[str, str]) -> Lookup:
    """A lookup over several mappings, the first one that has the name wins."""

    def look(name: str) -> str | None:
        for m in maps:
            v = m.get(name)
            if v is not None:
                return v
        return None

    return look
