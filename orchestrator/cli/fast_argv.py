"""Reading a command line by click's rules without click, for the commands whose start-up is their cost.

A command that other programs or scripts run again and again (``up`` of a stack that already
runs, the runtime's verbs) spends a good part of its time importing click, building the command
tree and parsing: about 10 ms of a 100 ms ``up`` with nothing to do. The readers built on this
module take the command lines they can read exactly as click would and hand every other one back
(``None``): an option they do not know, a value that click would refuse or convert in a way they
do not, a setting that comes from the environment in a form they do not check. Click then reads
it, runs it, or explains the mistake. Each reader has a unit test that holds it to click's
answers on the command lines it takes and checks that it gives the others back.

What is read here, as click reads it: ``--name value``, ``--name=value``, ``-n value`` and
``-nvalue``; flags only as themselves (no ``-abc`` clusters, no ``--flag=value``); the last
occurrence wins unless the option collects them; ``--`` ends the options of a command. What is
never taken: a value that starts with ``-`` (click's reading of it depends on the option), and
``-`` alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.cli.options import GlobalOptions

Convert = Callable[[str], Any]  # raises ValueError for a value click would refuse


class Unreadable(Exception):
    """The command line is not one these readers take: click must read it."""


@dataclass(frozen=True)
class Table:
    """One command's options, as its click declaration has them."""
    flags: Mapping[str, tuple[str, Any]] = field(default_factory=dict)  # spelling -> (parameter, value set)
    values: Mapping[str, tuple[str, Convert]] = field(default_factory=dict)  # spelling -> (parameter, conversion)
    multiple: frozenset[str] = frozenset()  # parameters that collect every occurrence, in order
    flag_variables: Mapping[str, str] = field(default_factory=dict)  # flag parameter -> its variable (envvar=)


def read_options(table: Table, args: Sequence[str], *, interspersed: bool) -> tuple[dict[str, Any], list[str]]:
    """The options ``args`` gives (only those present) and the words left: every positional word of
    a command (``interspersed``), or, for the group, the command word and all that follows it."""
    params: dict[str, Any] = {}
    words: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" and interspersed:
            words.extend(args[i + 1:])
            break
        if arg == "-" or arg == "--":
            raise Unreadable(arg)
        if not arg.startswith("-"):
            if not interspersed:
                words.extend(args[i:])
                break
            words.append(arg)
            i += 1
            continue
        if arg.startswith("--"):
            name, eq, attached = arg.partition("=")
        else:
            name, eq, attached = arg[:2], "", arg[2:]
            eq = "=" if attached else ""
        if name in table.flags and not eq:
            dest, value = table.flags[name]
        elif name in table.values:
            if eq:
                raw = attached
            elif i + 1 < len(args) and not args[i + 1].startswith("-"):
                raw = args[i + 1]
                i += 1
            else:
                raise Unreadable(arg)
            dest, convert = table.values[name]
            try:
                value = convert(raw)
            except ValueError:
                raise Unreadable(arg) from None
        else:
            raise Unreadable(arg)
        if dest in table.multiple:
            params.setdefault(dest, []).append(value)
        else:
            params[dest] = value
        i += 1
    return params, words


def choice(*allowed: str) -> Convert:
    """click.Choice as the commands declare it: exact, case-sensitive."""
    def convert(value: str) -> str:
        if value not in allowed:
            raise ValueError(value)
        return value
    return convert


_TRUE = frozenset({"1", "yes", "true", "on", "t", "y"})
_FALSE = frozenset({"0", "no", "false", "off", "f", "n"})


def env_flag(name: str, environ: Mapping[str, str]) -> bool | None:
    """A boolean flag's variable as click reads it: None when unset or empty; a value click would
    refuse is :class:`Unreadable`."""
    raw = environ.get(name)
    if not raw:
        return None
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Unreadable(name)


def env_value(name: str, environ: Mapping[str, str], convert: Convert) -> Any:
    """An option's variable converted as its option's value: None when unset or empty."""
    raw = environ.get(name)
    if not raw:
        return None
    try:
        return convert(raw)
    except ValueError:
        raise Unreadable(name) from None


# --- the group's own options (``orchestrator.cli.main.cli``) -----------------------------------

ANSI = ("never", "always", "auto")
PROGRESS = ("auto", "tty", "plain", "quiet", "json")

GLOBAL = Table(
    flags={"--compatibility": ("compatibility", True), "--debug": ("debug", True)},
    values={"-f": ("files", str), "--file": ("files", str), "-p": ("project_name", str),
            "--project-name": ("project_name", str), "--project-directory": ("project_directory", str),
            "--profile": ("profiles", str), "--env-file": ("env_files", str), "--root": ("root", str),
            "--ansi": ("ansi", choice(*ANSI)), "--progress": ("progress", choice(*PROGRESS)),
            "--parallel": ("parallel", int)},
    multiple=frozenset({"files", "profiles", "env_files"}),
)


@dataclass(frozen=True)
class Globals:
    """The group's options with their variables and defaults applied, as click hands them to it."""
    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: str | None = None
    profiles: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    root: str | None = None
    ansi: str = "auto"
    progress: str = "auto"
    compatibility: bool = False
    parallel: int = -1
    debug: bool = False


def read_globals(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> tuple[Globals, list[str]]:
    """The group's options and the words from the command's name on (:class:`Unreadable` when
    click must read them; the global ``--dry-run`` is left to click, which checks the command)."""
    env = os.environ if environ is None else environ
    given, rest = read_options(GLOBAL, argv, interspersed=False)
    fallback = {"root": env.get("PYSTACK_ROOT") or None,
                "ansi": env_value("COMPOSE_ANSI", env, choice(*ANSI)),
                "progress": env_value("COMPOSE_PROGRESS", env, choice(*PROGRESS)),
                "compatibility": env_flag("COMPOSE_COMPATIBILITY", env),
                "parallel": env_value("COMPOSE_PARALLEL_LIMIT", env, int)}
    for key, value in fallback.items():
        if key not in given and value is not None:
            given[key] = value
    for key in ("files", "profiles", "env_files"):
        if key in given:
            given[key] = tuple(given[key])
    return Globals(**given), rest


def read_command(argv: Sequence[str], environ: Mapping[str, str], word: str, table: Table, *,
                 interspersed: bool) -> tuple[Globals, dict[str, Any], list[str]] | None:
    """The group's options, then command ``word``'s options (their variables applied to the flags
    the command line leaves unset) and its other words; None when ``argv`` is another command or
    click must read it."""
    try:
        top, rest = read_globals(argv, environ)
        if not rest or rest[0] != word:
            return None
        params, words = read_options(table, rest[1:], interspersed=interspersed)
        for dest, name in table.flag_variables.items():
            value = env_flag(name, environ)
            if dest not in params and value is not None:
                params[dest] = value
    except Unreadable:
        return None
    return top, params, words


def leaves_to_click(top: Globals, environ: Mapping[str, str]) -> bool:
    """What the group does besides reading its options, when the readers do not do it: the env
    file's ``COMPOSE_*`` settings, which click reads after the file, and stacks stored in a
    registry (``oci://``). Reads only."""
    from orchestrator.cli import dotenv_settings

    texts = dotenv_settings.read(dotenv_settings.env_files(
        list(top.files), top.project_directory, list(top.env_files), dict(environ)))
    if any(key in text for _, text in texts for key in dotenv_settings.SETTINGS):
        return True
    if any(f.startswith("oci://") for f in top.files):
        return True
    return not top.files and ("oci://" in environ.get("COMPOSE_FILE", "") or (
        "COMPOSE_FILE" not in environ and any("oci://" in text for _, text in texts)))


def global_options(top: Globals) -> GlobalOptions:
    """The options every command gets, with the process-wide settings applied: what the group's
    callback (``main.cli``) makes of its options, and all it does when :func:`leaves_to_click`
    finds nothing else to do."""
    from orchestrator.cli.options import GlobalOptions, apply_process_settings

    opts = GlobalOptions(files=list(top.files), project_name=top.project_name,
                         project_directory=top.project_directory, profiles=list(top.profiles),
                         env_files=list(top.env_files), debug=top.debug, ansi=top.ansi, progress=top.progress)
    if top.root:
        from pathlib import Path

        opts.root = Path(top.root)
    apply_process_settings(compatibility=top.compatibility, parallel=top.parallel)
    return opts
