"""Run a snippet in a fresh ``python -I -S``, as the zygote and the daemons start: what it imports
and what its process state becomes are then its own, not the test process's."""

from __future__ import annotations

import subprocess
import sys

from orchestrator.isolated import CODE_ROOT


def run_fresh(body: str, imports: str = "sys", timeout: float = 60) -> str:
    """``body`` after ``import <imports>`` and pystack's code on the path; its standard output.

    A non-zero exit fails the test with the snippet's standard error."""
    code = f"import {imports}; import sys as _sys; _sys.path[:0] = [{CODE_ROOT!r}]\n{body}"
    res = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr
    return res.stdout
