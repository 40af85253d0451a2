"""Instructions that only change the image config (pure): ENV, LABEL, CMD, EXPOSE, HEALTHCHECK ...

Each takes the stage's mutable :class:`StageVars` and the config's inner ``config`` object and
applies Docker's meaning, e.g. an ENTRYPOINT set in this Dockerfile clears a CMD inherited from
the base image, and the shell form of CMD becomes ``SHELL + [text]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import ImageError
from orchestrator.images.build.parser import Instruction
from orchestrator.images.build.words import expand_word, key_values, split_words

DEFAULT_SHELL = ["/bin/sh", "-c"]
PREDEFINED_ARGS = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                   "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
            "h": 3_600_000_000_000}


@dataclass
class StageVars:
    """The variables and shell a stage's next instruction sees."""
    env: dict[str, str] = field(default_factory=dict)  # ENV, in order (persisted in the image)
    args: dict[str, str] = field(default_factory=dict)  # ARGs in scope (not persisted)
    shell: list[str] = field(default_factory=lambda: list(DEFAULT_SHELL))
    entrypoint_set: bool = False

    def scope(self) -> dict[str, str]:
        """What ``$VAR`` sees: ARGs, overridden by ENV of the same name."""
        return {**self.args, **self.env}

    def run_env(self) -> dict[str, str]:
        return {**self.args, **self.env}


def env_from_config(inner: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in inner.get("Env") or []:
        k, _, v = str(item).partition("=")
        out[k] = v
    return out


def command_form(ins: Instruction, shell: list[str]) -> list[str]:
    if ins.json is not None:
        return list(ins.json)
    if not ins.rest:
        raise ImageError(f"line {ins.line}: {ins.cmd} needs a command")
    return [*shell, ins.rest]


def heredoc_command(ins: Instruction, shell: list[str]) -> list[str]:
    """``RUN <<EOF`` runs the document as the script; ``RUN cmd <<EOF`` hands the shell a real heredoc."""
    rest = ins.rest.strip()
    if re.fullmatch(r"(?:<<-?([\"']?)[A-Za-z_][A-Za-z0-9_]*\1\s*)+", rest) and len(ins.heredocs) == 1:
        return [*shell, ins.heredocs[0].content]
    script = rest + "\n" + "".join(doc.content + doc.name + "\n" for doc in ins.heredocs)
    return [*shell, script]


def parse_duration(text: str, what: str) -> int:
    """Go duration syntax (``1m30s``, ``500ms``) → nanoseconds."""
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_NS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ImageError(f"{what}: invalid duration {text!r}")
    return int(total)


def healthcheck(ins: Instruction, shell: list[str], scope: dict[str, str], escape: str) -> dict[str, Any]:
    rest = ins.rest
    if rest.upper() == "NONE":
        return {"Test": ["NONE"]}
    word, _, cmd_text = rest.partition(" ")
    if word.upper() != "CMD":
        raise ImageError(f"line {ins.line}: HEALTHCHECK must be NONE or CMD …")
    cmd_text = cmd_text.strip()
    sub = Instruction("CMD", cmd_text, ins.line)
    from orchestrator.images.build.parser import _json_form

    sub.json = _json_form(cmd_text)
    test = ["CMD", *sub.json] if sub.json is not None else ["CMD-SHELL", cmd_text]
    if not cmd_text:
        raise ImageError(f"line {ins.line}: HEALTHCHECK CMD needs a command")
    out: dict[str, Any] = {"Test": test}
    names = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
             "start-interval": "StartInterval"}
    for flag, value in ins.flags.items():
        value = expand_word(value, scope, escape)
        if flag in names:
            out[names[flag]] = parse_duration(value, f"line {ins.line}: --{flag}")
        elif flag == "retries":
            if not value.isdigit():
                raise ImageError(f"line {ins.line}: --retries must be a number")
            out["Retries"] = int(value)
        else:
            raise ImageError(f"line {ins.line}: unknown flag --{flag} for HEALTHCHECK")
    return out


def exposed(ins: Instruction, scope: dict[str, str], escape: str) -> list[str]:
    out = []
    for word in split_words(ins.rest, scope, escape):
        port, _, proto = word.partition("/")
        proto = (proto or "tcp").lower()
        if proto not in ("tcp", "udp", "sctp"):
            raise ImageError(f"line {ins.line}: EXPOSE {word}: protocol must be tcp, udp or sctp")
        lo, _, hi = port.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise ImageError(f"line {ins.line}: EXPOSE {word}: not a port or port range")
        for p in range(int(lo), int(hi or lo) + 1):
            if not 0 < p < 65536:
                raise ImageError(f"line {ins.line}: EXPOSE {word}: port out of range")
            out.append(f"{p}/{proto}")
    return out


def apply_config(ins: Instruction, inner: dict[str, Any], v: StageVars, escape: str,
                 config: dict[str, Any]) -> str | None:
    """Apply a config-only instruction; return a cache-key text, or None if ``ins`` is not one."""
    scope = v.scope()
    cmd = ins.cmd
    if cmd == "ENV":
        for k, val in key_values(ins.rest, scope, escape, "ENV"):
            v.env[k] = val
            scope[k] = val
        inner["Env"] = [f"{k}={val}" for k, val in v.env.items()]
        return "ENV " + repr(sorted(v.env.items()))
    if cmd == "LABEL":
        labels = dict(inner.get("Labels") or {})
        labels.update(key_values(ins.rest, scope, escape, "LABEL"))
        inner["Labels"] = labels
        return "LABEL " + repr(sorted(labels.items()))
    if cmd == "MAINTAINER":
        config["author"] = ins.rest
        return "MAINTAINER " + ins.rest
    if cmd in ("CMD", "ENTRYPOINT"):
        value = command_form(ins, v.shell) if ins.rest else []
        if cmd == "ENTRYPOINT":
            inner["Entrypoint"] = value or None
            if not v.entrypoint_set:
                inner.pop("Cmd", None)  # a new ENTRYPOINT drops the base image's CMD
            v.entrypoint_set = True
        else:
            inner["Cmd"] = value or None
        return f"{cmd} {value!r}"
    if cmd == "EXPOSE":
        ports = dict(inner.get("ExposedPorts") or {})
        ports.update({p: {} for p in exposed(ins, scope, escape)})
        inner["ExposedPorts"] = ports
        return "EXPOSE " + repr(sorted(ports))
    if cmd == "VOLUME":
        paths = ins.json if ins.json is not None else split_words(ins.rest, scope, escape)
        if not paths or any(not p for p in paths):
            raise ImageError(f"line {ins.line}: VOLUME needs at least one path")
        vols = dict(inner.get("Volumes") or {})
        vols.update({p: {} for p in paths})
        inner["Volumes"] = vols
        return "VOLUME " + repr(sorted(vols))
    if cmd == "USER":
        user = expand_word(ins.rest, scope, escape)
        if not user:
            raise ImageError(f"line {ins.line}: USER needs a user")
        inner["User"] = user
        return "USER " + user
    if cmd == "STOPSIGNAL":
        sig = expand_word(ins.rest, scope, escape)
        if not sig:
            raise ImageError(f"line {ins.line}: STOPSIGNAL needs a signal")
        inner["StopSignal"] = sig
        return "STOPSIGNAL " + sig
    if cmd == "HEALTHCHECK":
        inner["Healthcheck"] = healthcheck(ins, v.shell, scope, escape)
        return "HEALTHCHECK " + repr(sorted(inner["Healthcheck"].items()))
    if cmd == "SHELL":
        if ins.json is None or not ins.json:
            raise ImageError(f"line {ins.line}: SHELL must be a JSON array, e.g. SHELL [\"/bin/bash\", \"-c\"]")
        v.shell = list(ins.json)
        inner["Shell"] = list(ins.json)
        return "SHELL " + repr(ins.json)
    if cmd == "ONBUILD":
        triggers = list(inner.get("OnBuild") or [])
        triggers.append(ins.rest)
        inner["OnBuild"] = triggers
        return "ONBUILD " + ins.rest
    return None


def arg_decls(ins: Instruction, scope: dict[str, str], escape: str) -> list[tuple[str, str | None]]:
    """``ARG A`` / ``ARG A=default B=2`` → [(name, default or None)]."""
    out: list[tuple[str, str | None]] = []
    for word in split_words(ins.rest, None, escape) if "=" not in ins.rest else _arg_words(ins.rest, escape):
        name, eq, default = word.partition("=")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ImageError(f"line {ins.line}: ARG {word!r}: invalid name")
        out.append((name, expand_word(default, scope, escape) if eq else None))
    if not out:
        raise ImageError(f"line {ins.line}: ARG needs a name")
    return out


def _arg_words(rest: str, escape: str) -> list[str]:
    from orchestrator.images.build.words import _split_keep_quotes

    return _split_keep_quotes(rest, escape)
