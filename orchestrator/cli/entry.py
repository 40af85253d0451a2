"""The process's entry point: the ``pystack`` script, ``python -m orchestrator`` and the launcher.

It imports neither click nor the command tree until it knows the command needs them: the
runtime's lifecycle verbs are read and run by :mod:`orchestrator.cli.runtime_argv`, a detached
``up`` by :mod:`orchestrator.cli.up_argv`, ``run`` by :mod:`orchestrator.cli.run_argv`, and every
other command (or command line those readers give back) goes to :func:`orchestrator.cli.main.main`.
The process then ends without the interpreter's teardown (:mod:`orchestrator.cli.quick_exit`).
Tests call ``main``, which returns or raises ``SystemExit`` like any function.
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

# the command word -> the module that reads and runs it without click (its try_run gives None back
# when the command line is one for click: another command, or a form the reader does not take)
READERS = (("runtime", "orchestrator.cli.runtime_argv"), ("up", "orchestrator.cli.up_argv"),
           ("run", "orchestrator.cli.run_argv"))


def run() -> NoReturn:
    from orchestrator.cli.quick_exit import exit_process

    code: str | int | None = None
    try:
        argv = sys.argv[1:]
        for word, reader in READERS:
            if word in argv:  # a command without the word loads no reader
                code = importlib.import_module(reader).try_run(argv)
                if code is not None:
                    break
        if code is None:
            from orchestrator.cli.main import main

            code = main()
    except SystemExit as exc:
        code = exc.code
    exit_process(code)
