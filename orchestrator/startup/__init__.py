"""What every pystack process does before its heavy imports, so that it starts sooner and holds less.

The command line (:mod:`orchestrator.cli`) and the processes started by
:func:`orchestrator.isolated.command` (the zygote, a monitor started without one, each stack's
network service and supervisor, the removal of orphaned containers) call :func:`prepare` first:
``inspect`` is then imported only if used (:mod:`.lazy_inspect`), and in the command line the
methods of dataclasses come compiled from the package's cache (:mod:`.dataclass_cache`). Nothing
is imported here at module level: ``dataclasses`` must not be imported before ``inspect`` is
deferred.
"""

from __future__ import annotations


def prepare(*, compiled_cache: bool) -> None:
    """Defer ``inspect``; with ``compiled_cache``, also serve dataclasses' compiles from the
    package's cache and add what this process had to compile to it at exit. Only the command line
    uses the cache: its entries (some 600, 0.7 MB) would stay in a long-lived process's memory,
    and children forked from one would each write the file."""
    from orchestrator.startup import lazy_inspect

    lazy_inspect.install()
    if compiled_cache:
        from orchestrator.startup import dataclass_cache  # imports dataclasses, which imports inspect

        dataclass_cache.install()
