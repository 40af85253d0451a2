"""Global options shared by every command, as Compose has them.

Kept as plain data so commands can pass them to the spec loader without importing click.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GlobalOptions:
    """The options given before the command word, handed to every command so that each loads the same stack."""
    files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str | None = None
    profiles: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    root: Path = field(default_factory=lambda: Path(os.environ.get("PYSTACK_ROOT") or "/var/lib/pystack"))
    debug: bool = False
    ansi: str = "auto"
    progress: str = "auto"
    dry_run: bool = False  # the global --dry-run: show the changes, make none (cli/dry_run.py)


def apply_process_settings(*, compatibility: bool, parallel: int) -> None:
    """What two of the group's options change for the whole process rather than for the stack:
    Compose v1's names (``--compatibility``) and the limit on parallel work (``--parallel``)."""
    if compatibility:
        from orchestrator import naming

        naming.set_compatibility(True)
    if parallel > 0:
        from orchestrator.reconcile.threads import set_parallel

        set_parallel(parallel)
