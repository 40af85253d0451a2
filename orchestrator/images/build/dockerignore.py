"""``.dockerignore`` patterns, with Docker's rules (pure).

One pattern a line, ``#`` comments, paths cleaned and taken relative to the context root;
``*`` and ``?`` never cross ``/``, ``**`` spans any number of directories, ``[...]`` classes and
``\\`` escapes; ``!pattern`` re-includes. A pattern that matches a directory excludes what is in
it. The last matching pattern decides.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class _Pattern:
    """One .dockerignore line compiled: a ``!`` line re-includes what earlier lines excluded."""
    regex: re.Pattern[str]
    exclude: bool
    text: str


def _translate(pat: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pat):
        c = pat[i]
        if c == "*":
            if pat.startswith("**", i):
                i += 2
                if pat.startswith("/", i):
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pat.find("]", i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pat[i + 1:j]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        elif c == "\\" and i + 1 < len(pat):
            i += 1
            out.append(re.escape(pat[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


class Ignore:
    def __init__(self, lines: list[str]) -> None:
        self.patterns: list[_Pattern] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exclude = True
            if line.startswith("!"):
                exclude, line = False, line[1:].strip()
            line = posixpath.normpath(line).lstrip("/")
            if line in (".", ""):
                continue
            try:
                regex = re.compile(_translate(line) + r"\Z")
            except re.error:
                continue
            self.patterns.append(_Pattern(regex, exclude, line))
        self.has_exceptions = any(not p.exclude for p in self.patterns)

    @classmethod
    def load(cls, context: Path) -> Ignore:
        try:
            return cls((context / ".dockerignore").read_text(encoding="utf-8", errors="replace").splitlines())
        except (FileNotFoundError, NotADirectoryError):
            return cls([])

    def ignored(self, rel: str) -> bool:
        """Whether context-relative path ``rel`` is left out of the build context."""
        if not self.patterns:
            return False
        parts = rel.strip("/").split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for p in self.patterns:
            if any(p.regex.match(pre) for pre in prefixes):
                result = p.exclude
        return result

    def prunable(self, rel: str) -> bool:
        """An ignored directory that no ``!`` exception can reach into: skip walking it."""
        return self.ignored(rel) and not self.has_exceptions
