"""The ``pystack`` command line. Importing it sets up the command's start-up: the garbage collector
pauses (:mod:`orchestrator.cli.gc_pause`), ``inspect`` is imported only when used and the methods
of dataclasses come compiled from a cache (:mod:`orchestrator.startup`). Every way in (the
launcher, pip's script, ``python -m orchestrator``) passes through here before the heavy imports."""

from orchestrator.cli.gc_pause import pause_during_startup
from orchestrator.startup import prepare

prepare(compiled_cache=True)
pause_during_startup()
