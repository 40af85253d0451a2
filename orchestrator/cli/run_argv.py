"""``pystack run`` without click: argv → :func:`orchestrator.cli.run_flow.run_one_off`.

A one-off container (``run --rm SERVICE CMD`` in a test script, ``run -d`` in a loop) is a short
command whose start-up is a large part of its cost: click's import and the command tree were
about 20 ms of it. This reader takes ``run``'s options as click reads them (see
:mod:`orchestrator.cli.fast_argv`): the options before SERVICE, then SERVICE, then the command and
its own arguments, untouched. It gives back to click anything else: an unknown or clustered
option, a label that is not ``KEY=VAL``, a missing SERVICE, the global ``--dry-run`` (which
``run`` refuses), an ``oci://`` stack, or a project whose env file sets one of the command line's
``COMPOSE_*`` settings. ``tests/unit/cli/test_run_argv.py`` holds it to click's answers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.cli import fast_argv
from orchestrator.cli.fast_argv import Globals, Table
from orchestrator.cli.run_flow import RunRequest


def _label(value: str) -> str:
    """``-l KEY=VAL``, checked as the click command checks it (``exec_cmd._label_pairs``)."""
    key, sep, _ = value.partition("=")
    if not key or not sep:
        raise ValueError(value)
    return value


RUN = Table(
    flags={"--rm": ("remove", True), "-d": ("detach", True), "--detach": ("detach", True),
           "--no-deps": ("no_deps", True), "-T": ("no_tty", True), "--no-tty": ("no_tty", True),
           "-i": ("interactive", True), "--interactive": ("interactive", True),
           "--no-interactive": ("interactive", False), "-P": ("service_ports", True),
           "--service-ports": ("service_ports", True), "--use-aliases": ("use_aliases", True),
           "--build": ("build", True), "--quiet-pull": ("quiet_pull", True), "--quiet-build": ("quiet_build", True),
           "-q": ("quiet", True), "--quiet": ("quiet", True), "--remove-orphans": ("remove_orphans", True)},
    values={"-e": ("envs", str), "--env": ("envs", str), "--env-from-file": ("env_files", str),
            "--entrypoint": ("entrypoint", str), "-u": ("user", str), "--user": ("user", str),
            "-w": ("workdir", str), "--workdir": ("workdir", str), "--name": ("name", str),
            "-v": ("volumes", str), "--volume": ("volumes", str), "-p": ("publish", str),
            "--publish": ("publish", str), "--cap-add": ("cap_add", str), "--cap-drop": ("cap_drop", str),
            "--pull": ("pull", fast_argv.choice("always", "missing", "never", "policy")),
            "-l": ("labels", _label), "--label": ("labels", _label)},
    multiple=frozenset({"envs", "env_files", "volumes", "publish", "cap_add", "cap_drop", "labels"}),
    flag_variables={"remove_orphans": "COMPOSE_REMOVE_ORPHANS"},
)


@dataclass(frozen=True)
class RunCall:
    """A ``run`` read from its command line."""
    globals: Globals
    request: RunRequest


def parse(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> RunCall | None:
    """The ``run`` that ``argv`` (without the program name) asks for, or None when click must read it."""
    read = fast_argv.read_command(argv, os.environ if environ is None else environ, "run", RUN, interspersed=False)
    if read is None or not read[2]:
        return None  # another command, or one for click (without SERVICE: click says so)
    top, params, words = read
    labels: dict[str, str] = {}
    for item in params.pop("labels", []):
        key, _, value = item.partition("=")
        labels[key] = value
    for key in ("envs", "env_files", "volumes", "publish", "cap_add", "cap_drop"):
        if key in params:
            params[key] = tuple(params[key])
    return RunCall(top, RunRequest(service=words[0], command=tuple(words[1:]), labels=labels, **params))


def try_run(argv: Sequence[str]) -> int | None:
    """Run the one-off container ``argv`` asks for and return the command's exit status, or None
    to leave the command to click (nothing has been changed then)."""
    call = parse(argv)
    if call is None or fast_argv.leaves_to_click(call.globals, os.environ):
        return None
    from orchestrator.cli import failures
    from orchestrator.cli.run_flow import run_one_off

    return failures.guarded(lambda: run_one_off(fast_argv.global_options(call.globals), call.request),
                            debug=call.globals.debug)
