"""``pystack runtime create|start|state|kill|delete|run`` without click: argv → a runtime verb.

An OCI runtime's verbs are short-lived processes that other programs call once per container
operation, so their start-up is most of their cost. Through click a verb paid for click's import
and for the command tree (about 18 ms of 93 ms for ``runtime run`` of /bin/true, measured); this
path reads the verbs' arguments by the same rules and calls the same code
(:mod:`orchestrator.cli.runtime_verbs`). It takes only what it can read exactly as click would:
anything else (``--help``, an unknown or misplaced option, a missing or extra argument, a path of
the wrong kind, any other global option) returns ``None`` and the command goes through click,
which does it or explains the mistake. ``tests/unit/cli/test_runtime_argv.py`` holds the two
parsers to the same answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Kind = str  # "dir" (a path that must not be a file), "file" (must not be a directory) or "any"


@dataclass(frozen=True)
class Verb:
    """One verb's arguments as its click command declares them (``runtime_cmd``)."""
    positionals: tuple[str, ...]  # the first is required, the others optional
    defaults: dict[str, Any] = field(default_factory=dict)
    values: dict[str, tuple[str, Kind]] = field(default_factory=dict)  # option spelling -> (parameter, kind)
    flags: dict[str, str] = field(default_factory=dict)  # option spelling -> parameter


VERBS: dict[str, Verb] = {
    "create": Verb(("container_id",), {"bundle": ".", "pid_file": None, "console_socket": None, "log_path": None},
                   {"-b": ("bundle", "dir"), "--bundle": ("bundle", "dir"), "--pid-file": ("pid_file", "file"),
                    "--console-socket": ("console_socket", "any"), "--log": ("log_path", "file")}),
    "start": Verb(("container_id",)),
    "state": Verb(("container_id",)),
    "kill": Verb(("container_id", "signal"), {"signal": "SIGTERM", "all_": False},
                 flags={"-a": "all_", "--all": "all_"}),
    "delete": Verb(("container_id",), {"force": False}, flags={"-f": "force", "--force": "force"}),
    "run": Verb(("container_id",), {"bundle": ".", "pid_file": None, "log_path": None, "keep": False},
                {"-b": ("bundle", "dir"), "--bundle": ("bundle", "dir"), "--pid-file": ("pid_file", "file"),
                 "--log": ("log_path", "file")}, {"--keep": "keep"}),
}


@dataclass(frozen=True)
class Call:
    """A parsed command line: the state root (``--root``), ``--debug``, the verb and its parameters."""
    root: str | None
    debug: bool
    verb: str
    params: dict[str, Any]


def parse(argv: Sequence[str]) -> Call | None:
    """The call ``argv`` (without the program name) asks for, or None when click must read it."""
    root: str | None = None
    debug = False
    i = 0
    while i < len(argv) and argv[i] != "runtime":
        arg = argv[i]
        if arg == "--debug":
            debug = True
        elif arg == "--root" and i + 1 < len(argv):
            root = argv[i + 1]
            i += 1
        elif arg.startswith("--root="):
            root = arg[len("--root="):]
        else:
            return None
        i += 1
    if i + 1 >= len(argv) or argv[i + 1] not in VERBS:
        return None
    name = argv[i + 1]
    params = _verb_params(VERBS[name], argv[i + 2:])
    return None if params is None else Call(root or None, debug, name, params)


def _verb_params(verb: Verb, args: Sequence[str]) -> dict[str, Any] | None:
    params = dict(verb.defaults)
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            positional.extend(args[i + 1:])
            break
        if arg.startswith("-") and arg != "-":
            name, eq, attached = arg.partition("=") if arg.startswith("--") else (arg[:2], "", arg[2:])
            if name in verb.flags and not eq and not attached:
                params[verb.flags[name]] = True
            elif name in verb.values and (eq or attached or i + 1 < len(args)):
                if eq or attached:
                    value = attached
                else:
                    value = args[i + 1]
                    i += 1
                dest, kind = verb.values[name]
                if not _kind_ok(value, kind):
                    return None
                params[dest] = value
            else:
                return None
        else:
            positional.append(arg)
        i += 1
    if not positional or len(positional) > len(verb.positionals):
        return None
    params.update(zip(verb.positionals, positional, strict=False))  # the optional ones may be missing
    return params


def _kind_ok(value: str, kind: Kind) -> bool:
    """click.Path's checks without ``exists``: a path that exists must be of the kind the option allows."""
    if kind == "any":
        return True
    is_dir = os.path.isdir(value)
    exists = is_dir or os.path.lexists(value)
    return not exists or (is_dir if kind == "dir" else not is_dir)


def try_run(argv: Sequence[str]) -> int | None:
    """Run the verb ``argv`` asks for and return its exit status, or None to leave it to click."""
    call = parse(argv)
    if call is None:
        return None
    from orchestrator.cli import failures, runtime_verbs
    from orchestrator.paths import Paths
    from orchestrator.runtime.api import get_runtime

    action: Callable[..., int] = getattr(runtime_verbs, call.verb)
    return failures.guarded(lambda: action(get_runtime(None, Paths.from_env(call.root)), **call.params),
                            debug=call.debug)
