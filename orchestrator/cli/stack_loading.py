"""Global options → loader options → a Stack; the one way every command loads its stack file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from orchestrator.spec.models import Stack
    from orchestrator.spec.project import LoadOptions


def load_options(opts: GlobalOptions, *, interpolate: bool = True) -> LoadOptions:
    from orchestrator.spec.project import LoadOptions

    return LoadOptions(
        files=list(opts.files),
        project_name=opts.project_name,
        project_directory=opts.project_directory,
        profiles=list(opts.profiles),
        env_files=list(opts.env_files),
        interpolate=interpolate,
    )


def load_stack_for(
    opts: GlobalOptions, targets: Sequence[str] = (), *, interpolate: bool = True, warn: bool = True,
    models: bool = False,
) -> Stack:
    """Load and validate (through the load cache); warnings go to stderr, one line each, as Compose prints them.

    A cache hit gives the stack's records unless ``models`` (see :func:`load_stack_cached`)."""
    import sys

    from orchestrator.paths import Paths
    from orchestrator.spec.cache import load_stack_cached

    def full() -> Stack:
        from orchestrator.spec.stack import load_stack

        return load_stack(load_options(opts, interpolate=interpolate), targets=targets)

    stack = load_stack_cached(
        files=list(opts.files),
        project_name=opts.project_name,
        project_directory=opts.project_directory,
        profiles=list(opts.profiles),
        env_files=list(opts.env_files),
        interpolate=interpolate,
        targets=tuple(targets),
        cache_dir=Paths.from_env(opts.root).stack_cache,
        load=full,
        models=models,
    )
    if warn:
        for line in stack.warnings:
            print(f"WARN {line}", file=sys.stderr)
    return stack
