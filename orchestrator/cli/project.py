"""From global options to a loaded stack and an engine context: shared by every stack command."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestrator.cli.options import GlobalOptions
from orchestrator.paths import Paths
from orchestrator.state.stack_lock import stack_lock as stack_lock  # one lock for commands and removals

if TYPE_CHECKING:
    from orchestrator.cli.progress import Progress
    from orchestrator.reconcile.context import Context
    from orchestrator.spec.models import Stack
    from orchestrator.state.containers import ContainerRecord


def load(opts: GlobalOptions, targets: Sequence[str] = ()) -> Stack:
    from orchestrator.cli.stack_loading import load_stack_for

    return load_stack_for(opts, targets)


def project_name(opts: GlobalOptions) -> tuple[str, Stack | None]:
    """The project a command acts on; the stack when a file is there (``down -p x`` works without one)."""
    from orchestrator.errors import PystackError

    if opts.project_name and not opts.files:
        from orchestrator.spec.discovery import could_find_stack_file

        if not could_find_stack_file(opts.project_directory, opts.env_files):
            return opts.project_name, None
    try:
        stack = load(opts)
    except PystackError:
        if opts.project_name and not opts.files:
            return opts.project_name, None
        raise
    return stack.name, stack


def context(opts: GlobalOptions) -> Context:
    from orchestrator.reconcile.context import Context

    return Context(Paths(opts.root), host_netns=os.environ.get("PYSTACK_HOST_NETNS") or None)


def reporter(opts: GlobalOptions, title: str = "Running") -> Progress:
    """The command's progress sink (``--progress``); enter it to get the live view on a terminal."""
    import os
    import sys

    from orchestrator.cli.progress import Progress

    # COMPOSE_STATUS_STDOUT: the status lines on stdout, as Compose's, for tools that read only it
    to_stdout = os.environ.get("COMPOSE_STATUS_STDOUT", "").strip().lower() in ("1", "true", "yes", "on")
    return Progress(opts.progress, title, stream=sys.stdout if to_stdout else None)


def colour(opts: GlobalOptions, no_color: bool) -> bool | None:
    """``--no-color`` or ``--ansi never`` turn colour off, ``--ansi always`` on; None decides by the terminal."""
    if no_color or opts.ansi == "never":
        return False
    return True if opts.ansi == "always" else None





def service_container(opts: GlobalOptions, service: str, index: int, verb: str) -> tuple[Context, ContainerRecord]:
    """Container ``index`` of ``service`` (never a ``run`` one-off), for commands on one container."""
    from orchestrator.errors import PystackError
    from orchestrator.state import containers as cstate

    name, _ = project_name(opts)
    ctx = context(opts)
    for rec in cstate.for_project(ctx.db(), name):
        if rec.service == service and rec.number == index and not rec.one_off:
            return ctx, rec
    raise PystackError(f"{verb}: no container {index} of service {service!r} in project {name!r}")
