"""The ``pystack`` command line. Importing it sets up the command's start-up: the garbage collector
pauses (:mod:`orchestrator.cli.gc_pause`), ``inspect`` is imported only when used
(:mod:`orchestrator.cli.lazy_inspect`) and the methods of dataclasses come compiled from a cache
(:mod:`orchestrator.cli.dataclass_cache`). Every way in (the launcher, pip's script, ``python -m
orchestrator``) passes through here before the heavy imports."""

from orchestrator.cli.gc_pause import pause_during_startup
from orchestrator.cli.lazy_inspect import install as _defer_inspect

_defer_inspect()  # before dataclass_cache imports dataclasses, which imports inspect

from orchestrator.cli.dataclass_cache import install as _compile_dataclasses_once  # noqa: E402

pause_during_startup()
_compile_dataclasses_once()
