"""A detached ``pystack up`` without click: argv → :func:`orchestrator.cli.up_flow.converge`.

``up -d`` is what scripts and CI jobs run to make sure a stack runs, most often when it already
does, and then the command's start-up is most of its cost: click's import and the command tree
were about a tenth of an ``up`` with nothing to do. This reader takes the detached forms (``-d``
or ``--wait``) with the flags that cannot conflict with each other, and the group's options (see
:mod:`orchestrator.cli.fast_argv`). Everything else goes to click: a foreground ``up``, which
follows logs for minutes; ``--scale``, ``--no-start``, ``--no-recreate``, ``--watch`` and the
other flags that click checks against each other; the global ``--dry-run``; an ``oci://`` stack;
a project whose env file sets one of the ``COMPOSE_*`` settings of the command line (which click
reads after the file). ``tests/unit/cli/test_up_argv.py`` holds this reader to click's answers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.cli import fast_argv
from orchestrator.cli.fast_argv import Globals, Table
from orchestrator.cli.up_flow import UpRequest

UP = Table(
    flags={"-d": ("detach", True), "--detach": ("detach", True), "--wait": ("wait", True),
           "--remove-orphans": ("remove_orphans", True), "--force-recreate": ("force_recreate", True),
           "--always-recreate-deps": ("recreate_deps", True), "--no-deps": ("no_deps", True),
           "-V": ("renew_anon", True), "--renew-anon-volumes": ("renew_anon", True),
           "--quiet-pull": ("quiet_pull", True), "--quiet-build": ("quiet_build", True),
           "--build": ("build", True), "--no-build": ("build", False),
           "-y": ("assume_yes", True), "--yes": ("assume_yes", True)},
    values={"--pull": ("pull", fast_argv.choice("always", "missing", "never", "build", "policy")),
            "--wait-timeout": ("wait_timeout", float), "-t": ("timeout", float), "--timeout": ("timeout", float)},
    flag_variables={"remove_orphans": "COMPOSE_REMOVE_ORPHANS"},
)


@dataclass(frozen=True)
class UpCall:
    """A detached ``up`` read from its command line."""
    globals: Globals
    detach: bool
    request: UpRequest


def parse(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> UpCall | None:
    """The ``up`` that ``argv`` (without the program name) asks for, or None when click must read it."""
    read = fast_argv.read_command(argv, os.environ if environ is None else environ, "up", UP, interspersed=True)
    if read is None:
        return None
    top, params, services = read
    detach = bool(params.pop("detach", False))
    params.pop("assume_yes", None)  # up never asks (see up_cmd.up)
    if not (detach or params.get("wait")):
        return None  # a foreground up: it follows the logs for as long as it runs; click reads it
    return UpCall(top, detach, UpRequest(services=tuple(services), **params))


def try_run(argv: Sequence[str]) -> int | None:
    """Run the detached ``up`` that ``argv`` asks for and return its exit status, or None to
    leave the command to click (nothing has been changed then)."""
    call = parse(argv)
    if call is None or fast_argv.leaves_to_click(call.globals, os.environ):
        return None
    from orchestrator.cli import failures
    from orchestrator.cli.up_flow import converge

    def run() -> int:
        status = converge(fast_argv.global_options(call.globals), call.request, detach=call.detach).status
        return 0 if status is None else status

    return failures.guarded(run, debug=call.globals.debug)
