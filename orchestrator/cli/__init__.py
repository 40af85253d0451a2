"""The ``pystack`` command line. Importing it pauses the garbage collector for the command's start-up
(see :mod:`orchestrator.cli.gc_pause`): every way in (the launcher, pip's script, ``python -m
orchestrator``) passes through here before the heavy imports."""

from orchestrator.cli.gc_pause import pause_during_startup

pause_during_startup()
