"""BuildKit's build checks over a Dockerfile, for ``build --check`` (pure: text in, findings out).

Compose's ``build --check`` asks BuildKit to lint each service's Dockerfile instead of building it.
These are the checks of BuildKit's reference that a Dockerfile's text alone decides, under the same
rule names and with the same messages, so that a project's CI reads them as it did:
StageNameCasing, FromAsCasing, ConsistentInstructionCasing, DuplicateStageName,
ReservedStageName, JSONArgsRecommended, MaintainerDeprecated, LegacyKeyValueFormat,
MultipleInstructionsDisallowed, ExposeProtoCasing, UndefinedArgInFrom and SecretsUsedInArgOrEnv.
Those that need the base image's configuration or the build context (UndefinedVar,
WorkdirRelativePath, CopyIgnoredFile, InvalidBaseImagePlatform…) are not made.

A check reads the instruction words as they were written, which the parser folds to upper case,
so it walks the file's logical lines with the parser's own line rules (directives, continuations,
comments, heredocs) beside the parsed stages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.images.build.parser import Dockerfile, Instruction, _directives, _logical_lines, parse

RESERVED_STAGE_NAMES = ("context", "scratch")
ONCE_PER_STAGE = ("CMD", "ENTRYPOINT", "HEALTHCHECK")
# The build arguments BuildKit defines without an ARG (platforms and the build's own).
PREDEFINED_ARGS = frozenset({
    "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "TARGETPLATFORM", "TARGETOS", "TARGETARCH",
    "TARGETVARIANT", "TARGETSTAGE", "BUILDKIT_SYNTAX", "BUILDKIT_INLINE_CACHE",
})
_SECRET_WORD = re.compile(r"(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)"
                          r"(?:_|$)", re.IGNORECASE)
_PUBLIC_WORD = re.compile(r"(?:_|^)public(?:_|$)", re.IGNORECASE)
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Finding:
    """One broken rule: its name, BuildKit's message for it, and the (first) line it is on."""

    rule: str
    message: str
    line: int

    @property
    def url(self) -> str:
        """The rule's page in BuildKit's reference, as BuildKit prints it."""
        kebab = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", self.rule).lower()
        return f"https://docs.docker.com/go/dockerfile/rule/{kebab}/"


def check(text: str, where: str = "Dockerfile") -> list[Finding]:
    """Every finding of the checks above, in the order of the lines they are on. A Dockerfile the
    parser refuses raises its ``ImageError`` (with file and line), as a build of it would."""
    parsed = parse(text, where)
    lines = text.splitlines()
    _, start = _directives(lines)
    written = [(n, logical.split(None, 1)) for n, logical, _ in _logical_lines(lines, start, parsed.escape)]
    found: list[Finding] = []
    found += _casing(written)
    found += _stages(written)
    found += _per_instruction(parsed, where)
    found += _undefined_args_in_from(parsed, where)
    return sorted(found, key=lambda f: (f.line, f.rule))


def _casing(written: list[tuple[int, list[str]]]) -> list[Finding]:
    words = [(n, parts[0]) for n, parts in written if parts]
    upper = sum(1 for _, w in words if w.isupper())
    lower = sum(1 for _, w in words if w.islower())
    majority = "lowercase" if lower > upper else "uppercase"
    good = str.islower if majority == "lowercase" else str.isupper
    return [Finding("ConsistentInstructionCasing",
                    f"Command '{w}' should match the case of the command majority ({majority})", n)
            for n, w in words if not good(w)]


def _stages(written: list[tuple[int, list[str]]]) -> list[Finding]:
    out: list[Finding] = []
    seen: set[str] = set()
    for n, parts in written:
        if len(parts) < 2 or parts[0].upper() != "FROM":
            continue
        words = [w for w in parts[1].split() if not w.startswith("--")]
        if len(words) != 3 or words[1].lower() != "as":
            continue
        keyword, as_word, name = parts[0], words[1], words[2]
        if keyword.isupper() != as_word.isupper() or keyword.islower() != as_word.islower():
            out.append(Finding("FromAsCasing", f"'{as_word}' and '{keyword}' keywords' casing do not match", n))
        if name != name.lower():
            out.append(Finding("StageNameCasing", f"Stage name '{name}' should be lowercase", n))
        lowered = name.lower()
        if lowered in RESERVED_STAGE_NAMES:
            out.append(Finding("ReservedStageName", f"'{lowered}' is reserved and should not be used as a stage name",
                               n))
        if lowered in seen:
            out.append(Finding("DuplicateStageName",
                               f"Duplicate stage name '{lowered}', stage names should be unique", n))
        seen.add(lowered)
    return out


def _per_instruction(parsed: Dockerfile, where: str) -> list[Finding]:
    out: list[Finding] = [*_secrets(parsed.global_args, where, parsed.escape)]
    for stage in parsed.stages:
        shell_set = False
        last: dict[str, Instruction] = {}
        for ins in stage.instructions:
            if ins.cmd == "SHELL":
                shell_set = True  # a chosen shell is meant to run the shell form
            elif ins.cmd in ("CMD", "ENTRYPOINT") and ins.json is None and not shell_set:
                out.append(Finding("JSONArgsRecommended", f"JSON arguments recommended for {ins.cmd} to prevent "
                                   "unintended behavior related to OS signals", ins.line))
            elif ins.cmd == "MAINTAINER":
                out.append(Finding("MaintainerDeprecated", "MAINTAINER instruction is deprecated in favor of using "
                                   "label", ins.line))
            elif ins.cmd in ("ENV", "LABEL") and ins.rest and "=" not in ins.rest.split(None, 1)[0]:
                out.append(Finding("LegacyKeyValueFormat", f'"{ins.cmd} key=value" should be used instead of legacy '
                                   f'"{ins.cmd} key value" format', ins.line))
            elif ins.cmd == "EXPOSE":
                out += [Finding("ExposeProtoCasing", f"Defined protocol '{port}' in EXPOSE instruction should be "
                                "lowercase", ins.line) for port in ins.rest.split() if _proto_not_lower(port)]
            if ins.cmd in ONCE_PER_STAGE:
                earlier = last.get(ins.cmd)
                if earlier is not None:
                    out.append(Finding("MultipleInstructionsDisallowed", f"Multiple {ins.cmd} instructions should not "
                                       "be used in the same stage because only the last one will be used",
                                       earlier.line))
                last[ins.cmd] = ins
        out += _secrets([ins for ins in stage.instructions if ins.cmd in ("ARG", "ENV")], where, parsed.escape)
    return out


def _proto_not_lower(port: str) -> bool:
    proto = port.partition("/")[2]
    return proto != proto.lower()


def _secrets(instructions: list[Instruction], where: str, escape: str) -> list[Finding]:
    out: list[Finding] = []
    for ins in instructions:
        for name in _declared_names(ins, where, escape):
            if _SECRET_WORD.search(name) and not _PUBLIC_WORD.search(name):
                out.append(Finding("SecretsUsedInArgOrEnv", "Do not use ARG or ENV instructions for sensitive data "
                                   f'({ins.cmd} "{name}")', ins.line))
    return out


def _declared_names(ins: Instruction, where: str, escape: str) -> list[str]:
    """The names an ARG or ENV sets, split by the builder's own readers (quotes kept together, so
    ``ENV NOTE="a token=x"`` sets NOTE alone); a malformed one is the error its build would be."""
    from orchestrator.errors import ImageError
    from orchestrator.images.build.instructions import arg_decls
    from orchestrator.images.build.words import key_values

    try:
        if ins.cmd == "ARG":
            return [name for name, _ in arg_decls(ins, {}, escape)]
        return [name for name, _ in key_values(ins.rest, {}, escape, "ENV")]
    except ImageError as exc:
        raise ImageError(f"{where}:{ins.line}: {exc}") from None


def _undefined_args_in_from(parsed: Dockerfile, where: str) -> list[Finding]:
    declared = {name for ins in parsed.global_args for name in _declared_names(ins, where, parsed.escape)}
    out: list[Finding] = []
    for stage in parsed.stages:
        for m in _VARIABLE.finditer(stage.base):
            name = m.group(1) or m.group(2)
            if name not in declared and name not in PREDEFINED_ARGS:
                out.append(Finding("UndefinedArgInFrom", f"FROM argument '{name}' is not declared", stage.line))
    return out
