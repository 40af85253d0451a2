"""The ``pystack`` command line. Importing it sets up the command's start-up: the garbage collector
pauses (:mod:`orchestrator.cli.gc_pause`) and the methods of dataclasses come compiled from a cache
(:mod:`orchestrator.cli.dataclass_cache`). Every way in (the launcher, pip's script, ``python -m
orchestrator``) passes through here before the heavy imports."""

from orchestrator.cli.dataclass_cache import install as _compile_dataclasses_once
from orchestrator.cli.gc_pause import pause_during_startup

pause_during_startup()
_compile_dataclasses_once()
