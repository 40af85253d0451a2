"""The cyclic garbage collector is off while a command starts, and back on if the command keeps running.

A command's start-up makes a few hundred thousand objects (modules, classes, the methods dataclasses
compile at import, the stack's records) and next to no cyclic garbage, yet the collector walks them
again each time enough have piled up: 5 to 10 ms of a 90 to 150 ms command. Most commands have
exited before the collector could free anything. One that keeps running (a foreground ``up``,
``logs -f``, an attached ``run``) gets it back after :data:`RESUME_AFTER` seconds, from a timer
thread, so no code path has to remember to turn it on.

A child forked meanwhile keeps it off. Such a child is forked to exec soon (the joiner of an
``exec``) or freezes what it inherited before it turns the collector on (a monitor). Turned on at
the fork, the collector ran in the child at once, inside the fork's own handlers, over everything
start-up had left, and freed SQLite statements of the parent's other threads: SQLite's memory
lock, held by one of those threads at the moment of the fork, is never released in the child, and
the child hung there, holding the stack's lock (seen: an ``up`` whose post_start exec never ran,
and every later command on the stack waiting).
"""

from __future__ import annotations

import gc
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
    _resumer = threading.Timer(RESUME_AFTER, gc.enable)
    _resumer.daemon = True
    _resumer.name = "gc-resume"
    _resumer.start()
