"""The one line a failed command prints, and its exit status: shared by click's path and the runtime verbs'."""

from __future__ import annotations

import sys

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
