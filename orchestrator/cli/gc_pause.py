"""The cyclic garbage collector is off while a command starts, and back on if the command keeps running.

A command's start-up makes a few hundred thousand objects (modules, classes, the methods dataclasses
compile at import, the stack's records) and next to no cyclic garbage, yet the collector walks them
again each time enough have piled up: 5 to 10 ms of a 90 to 150 ms command. Most commands have
exited before the collector could free anything. One that keeps running (a foreground ``up``,
``logs -f``, an attached ``run``) gets it back after :data:`RESUME_AFTER` seconds, from a timer
thread, so no code path has to remember to turn it on; a child forked meanwhile gets it back at once,
since the timer does not exist in the child.
"""

from __future__ import annotations

import gc
import os
import threading

RESUME_AFTER = 2.0  # seconds; what start-up left uncollected by then stays bounded by what it allocated

_resumer: threading.Timer | None = None


def pause_during_startup() -> None:
    """Turn the collector off until RESUME_AFTER has passed; nothing when it is off already (then
    whoever turned it off owns it)."""
    global _resumer
    if not gc.isenabled() or _resumer is not None:
        return
    gc.disable()
    os.register_at_fork(after_in_child=gc.enable)
    _resumer = threading.Timer(RESUME_AFTER, gc.enable)
    _resumer.daemon = True
    _resumer.name = "gc-resume"
    _resumer.start()
