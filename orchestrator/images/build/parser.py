"""Dockerfile text → stages of instructions (pure; no variable is expanded here).

Handles parser directives (``# escape=``), line continuations with the escape character,
comment lines (also inside a continued instruction), ``--flag=value`` options, JSON (exec)
form, global ``ARG`` before the first ``FROM``, and ``FROM … AS name``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from orchestrator.errors import ImageError

KNOWN = {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
         "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
WITH_FLAGS = {"FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"}
JSON_FORMS = {"RUN", "CMD", "ENTRYPOINT", "SHELL", "VOLUME", "COPY", "ADD"}
HEREDOC_CMDS = {"RUN", "COPY", "ADD"}
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")


@dataclass(frozen=True)
class Heredoc:
    """A ``<<NAME`` body of an instruction: a script for RUN, a file for COPY."""
    name: str  # the delimiter word, also the file name for COPY <<NAME
    content: str
    expand: bool  # unquoted delimiter: $VARS are expanded (by the shell for RUN)


@dataclass
class Instruction:
    """One Dockerfile instruction with its flags split off, kept with its line for error messages."""
    cmd: str  # upper case
    rest: str  # text after the instruction word and its flags
    line: int  # first line, 1-based
    flags: dict[str, str] = field(default_factory=dict)
    json: list[str] | None = None  # exec form, when ``rest`` is a JSON array of strings
    heredocs: list[Heredoc] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)  # RUN --mount=… values, in order (the flag repeats)

    @property
    def original(self) -> str:
        flags = "".join(f"--{k}={v} " for k, v in sorted(self.flags.items()))
        flags += "".join(f"--mount={m} " for m in self.mounts)
        return f"{self.cmd} {flags}{self.rest}".strip()


@dataclass
class Stage:
    """A FROM and the instructions under it."""
    index: int
    base: str  # as written (may hold $ARGs)
    name: str | None
    line: int
    platform: str | None = None
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    """A parsed Dockerfile: the ARGs before the first FROM, then its stages."""
    escape: str
    global_args: list[Instruction]
    stages: list[Stage]
    where: str = "Dockerfile"

    def stage(self, ref: str) -> Stage | None:
        """A stage by ``AS`` name (case-insensitive) or by index."""
        for s in self.stages:
            if s.name is not None and s.name == ref.lower():
                return s
        if ref.isdigit() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None


def _directives(lines: list[str]) -> tuple[dict[str, str], int]:
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        m = _DIRECTIVE.match(line.strip())
        if not m or m.group(1).lower() in found:
            return found, i
        found[m.group(1).lower()] = m.group(2)
    return found, len(lines)


def _logical_lines(lines: list[str], start: int, escape: str) -> list[tuple[int, str, list[Heredoc]]]:
    out: list[tuple[int, str, list[Heredoc]]] = []
    buf: list[str] = []
    first = 0
    n = start
    while n < len(lines):
        raw = lines[n]
        n += 1
        stripped = raw.strip()
        if stripped.startswith("#") or not stripped:
            continue  # comments and blank lines vanish, even between continued lines
        if not buf:
            first = n
        body = raw.rstrip()
        if body.endswith(escape):
            buf.append(body[:-1])
            continue
        buf.append(body)
        logical = "".join(buf).strip()
        buf = []
        docs: list[Heredoc] = []
        if logical.split(None, 1)[0].upper() in HEREDOC_CMDS:
            for m in _HEREDOC.finditer(logical):
                strip_tabs, quote, word = m.group(1) == "-", m.group(2), m.group(3)
                body_lines = []
                while n < len(lines) and (lines[n].lstrip("\t") if strip_tabs else lines[n]) != word:
                    body_lines.append(lines[n].lstrip("\t") if strip_tabs else lines[n])
                    n += 1
                if n >= len(lines):
                    raise ImageError(f"line {first}: heredoc <<{word} is not terminated")
                n += 1
                docs.append(Heredoc(word, "".join(line + "\n" for line in body_lines), expand=not quote))
        out.append((first, logical, docs))
    if buf:
        out.append((first, "".join(buf).strip(), []))
    return out


def _flags(rest: str, where: str, mounts: list[str] | None = None) -> tuple[dict[str, str], str]:
    """The leading ``--name=value`` flags; each ``--mount`` goes to ``mounts`` when given (RUN repeats it)."""
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        word, _, tail = rest.partition(" ")
        if word == "--":
            break
        name, eq, value = word[2:].partition("=")
        if not name:
            raise ImageError(f"{where}: bad flag {word!r}")
        if mounts is not None and name.lower() == "mount":
            mounts.append(value)
        else:
            flags[name.lower()] = value if eq else "true"
        rest = tail.lstrip()
    return flags, rest


def _json_form(rest: str) -> list[str] | None:
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def parse(text: str, where: str = "Dockerfile") -> Dockerfile:
    lines = text.splitlines()
    directives, start = _directives(lines)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise ImageError(f"{where}: invalid escape directive {escape!r} (use \\ or `)")
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    for lineno, logical, docs in _logical_lines(lines, start, escape):
        loc = f"{where}:{lineno}"
        word, _, rest = logical.partition(" ")
        if "\t" in word:
            word, _, more = word.partition("\t")
            rest = more + " " + rest
        cmd = word.upper()
        rest = rest.strip()
        if cmd not in KNOWN:
            raise ImageError(f"{loc}: unknown instruction {word!r}")
        flags: dict[str, str] = {}
        mounts: list[str] = []
        if cmd in WITH_FLAGS:
            flags, rest = _flags(rest, loc, mounts if cmd == "RUN" else None)
        ins = Instruction(cmd, rest, lineno, flags, _json_form(rest) if cmd in JSON_FORMS else None, docs, mounts)
        if cmd == "FROM":
            stages.append(_stage(ins, len(stages), loc))
        elif not stages:
            if cmd != "ARG":
                raise ImageError(f"{loc}: {cmd} before the first FROM (only ARG may come first)")
            global_args.append(ins)
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        raise ImageError(f"{where}: no FROM instruction")
    return Dockerfile(escape, global_args, stages, where)


def _stage(ins: Instruction, index: int, loc: str) -> Stage:
    parts = ins.rest.split()
    if len(parts) == 1:
        name = None
    elif len(parts) == 3 and parts[1].lower() == "as":
        name = parts[2].lower()
        if not re.fullmatch(r"[a-z][a-z0-9._-]*", name):
            raise ImageError(f"{loc}: invalid stage name {parts[2]!r}")
    else:
        raise ImageError(f"{loc}: FROM takes an image and an optional 'AS name'")
    for k in ins.flags:
        if k != "platform":
            raise ImageError(f"{loc}: unknown flag --{k} for FROM")
    return Stage(index, parts[0], name, ins.line, ins.flags.get("platform"))
