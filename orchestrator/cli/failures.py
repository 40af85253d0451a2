"""The one line a failed command prints, and its exit status: shared by click's path and the runtime verbs'."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from orchestrator.errors import PystackError

INTERNAL_ERROR = 70  # EX_SOFTWARE: a failure that is pystack's bug, not the user's mistake


def report(exc: BaseException) -> int:
    """Print what went wrong in one line on stderr and return the exit status.

    A :class:`PystackError` (also as the first of an exception group, as task groups raise
    them) is the user's message with its own status; anything else is pystack's bug, named
    with a pointer to ``--debug`` for its traceback."""
    cause = exc
    while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        cause = cause.exceptions[0]
    if isinstance(cause, PystackError):
        print(cause, file=sys.stderr)
        return cause.exit_code
    print(f"internal error: {type(cause).__name__}: {cause} (run with --debug for the traceback)", file=sys.stderr)
    return INTERNAL_ERROR


def guarded(action: Callable[[], int], *, debug: bool) -> int:
    """Run a command read without click and return its exit status, failures treated as
    ``main.main`` treats them: one line, or the traceback with ``--debug`` or ``PYSTACK_DEBUG``."""
    try:
        return action()
    except PystackError as exc:
        return report(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if debug or os.environ.get("PYSTACK_DEBUG"):
            raise
        return report(exc)
