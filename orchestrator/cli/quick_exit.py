"""A command ends without the interpreter's teardown: what a process exit does anyway is not done twice.

When a Python program returns, the interpreter tears itself down: it clears every module one by
one, runs a final garbage collection and frees each object it made. For a command that imported
some 200 modules that is about 10 ms, about an eighth of an ``up`` with nothing to do, and all of
it is memory and state the kernel reclaims at once when the process exits. So the command line
ends with :func:`exit_process` instead: it does what teardown does that someone could see, in the
same order, and then leaves with ``os._exit``:

1. ``threading``'s shutdown: non-daemon threads are joined, and the hooks registered with it run
   (``concurrent.futures`` waits for its workers there);
2. the ``atexit`` handlers (temporary directories, the dataclass code cache);
3. standard output and error are flushed; a reader that went away (``pystack ps | head``) gets
   exit status 120, as the interpreter gives.

What is left undone is object finalization: files the code leaves open without closing are not
flushed (pystack writes its files in ``with`` blocks), and SQLite connections are not closed, which
in WAL mode, as :mod:`orchestrator.state.db` opens them, loses no committed transaction.
Should an interpreter lack one of the hooks used above, the command exits the ordinary way.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn


def _status(code: str | int | None) -> int:
    """The exit status ``sys.exit(code)`` gives, printing a non-integer code as it does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(OSError, ValueError):
        print(code, file=sys.stderr)
    return 1


def exit_process(code: str | int | None) -> NoReturn:
    """End the process with ``sys.exit(code)``'s status, skipping the interpreter's teardown."""
    threading = sys.modules.get("threading")
    shutdown = getattr(threading, "_shutdown", None) if threading is not None else None
    import atexit

    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)
    if (threading is not None and shutdown is None) or run_exitfuncs is None:
        sys.exit(code)
    status = _status(code)
    if shutdown is not None:
        shutdown()
    run_exitfuncs()
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (OSError, ValueError):
        status = 120
    with contextlib.suppress(OSError, ValueError):
        if sys.stderr is not None:
            sys.stderr.flush()
    os._exit(status)
