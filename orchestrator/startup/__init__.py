"""What every pystack process does before its heavy imports, so that it starts sooner and holds less.

The command line (:mod:`orchestrator.cli`) and the processes started by
:func:`orchestrator.isolated.command` (the zygote, each stack's network service and supervisor)
call :func:`prepare` first: ``inspect`` is then imported only if used (:mod:`.lazy_inspect`), and
the methods of dataclasses come compiled from the package's cache (:mod:`.dataclass_cache`).
Nothing is imported here at module level: ``dataclasses`` must not be imported before
``inspect`` is deferred.
"""

from __future__ import annotations


def prepare(*, save_compiled: bool) -> None:
    """Defer ``inspect`` and serve dataclasses' compiles from the cache; with ``save_compiled``
    the methods this process had to compile are added to the cache when it exits (the command
    line's processes do; the long-lived ones, which fork children, only read it)."""
    from orchestrator.startup import lazy_inspect

    lazy_inspect.install()
    from orchestrator.startup import dataclass_cache  # imports dataclasses, which imports inspect

    dataclass_cache.install(save_at_exit=save_compiled)
