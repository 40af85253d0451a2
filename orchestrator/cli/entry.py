"""The process's entry point: the ``pystack`` script, ``python -m orchestrator`` and the launcher.

It imports neither click nor the command tree until it knows the command needs them: the
runtime's lifecycle verbs are read and run by :mod:`orchestrator.cli.runtime_argv`, a detached
``up`` by :mod:`orchestrator.cli.up_argv`, and every other command (or command line those
readers give back) goes to :func:`orchestrator.cli.main.main`. The process then ends without the
interpreter's teardown (:mod:`orchestrator.cli.quick_exit`). Tests call ``main``, which returns or
raises ``SystemExit`` like any function.
"""

from __future__ import annotations

import sys
from typing import NoReturn


def run() -> NoReturn:
    from orchestrator.cli.quick_exit import exit_process

    code: str | int | None = None
    try:
        argv = sys.argv[1:]
        if "runtime" in argv:  # other commands do not even load the verbs' reader
            from orchestrator.cli.runtime_argv import try_run

            code = try_run(argv)
        elif "up" in argv:
            from orchestrator.cli.up_argv import try_run as try_up

            code = try_up(argv)
        if code is None:
            from orchestrator.cli.main import main

            code = main()
    except SystemExit as exc:
        code = exc.code
    exit_process(code)
