"""The command line of a fresh ``python -I -S`` running one of pystack's modules.

What the zygote and each stack's network service and supervisor start as (the ``pystack``
command itself too: :mod:`orchestrator.launcher`): ``-I -S`` keeps the environment's
``site`` start-up (``.pth`` hooks, an editable install's import finder) out of processes whose
start-up a command waits for, so their module path is spelled out instead. Each first defers
``inspect`` (:mod:`orchestrator.startup`).
"""

from __future__ import annotations

import sys
from pathlib import Path

CODE_ROOT = str(Path(__file__).resolve().parent.parent)  # where the orchestrator package lives


def command(module: str, *, site_packages: bool) -> list[str]:
    """``[python, -I, -S, -c, BOOT, module]``; arguments appended after it reach ``module.main(argv)``.

    The module's name stays on the command line, so that the process can be told by it. With
    ``site_packages`` the module path is this process's own (the third-party packages it found);
    without, only pystack's code and the standard library.
    """
    path = [CODE_ROOT, *(p for p in sys.path if p and p != CODE_ROOT)] if site_packages else [CODE_ROOT]
    boot = (f"import sys; sys.path[:0] = {path!r}; from orchestrator.startup import prepare; "
            f"prepare(compiled_cache=False); from {module} import main; sys.exit(main(sys.argv[2:]))")
    return [sys.executable, "-I", "-S", "-c", boot, module]
