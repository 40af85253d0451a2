"""The lock by which commands on one stack take turns.

Every command that changes a stack holds it for the change, and so does the removal a container's
monitor asks for when the ``run --rm`` that made the container was killed
(:mod:`orchestrator.reconcile.orphan_removal`): a ``down`` and that removal never act on the same
container at once. Different stacks never wait for each other.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator.paths import Paths


@contextmanager
def stack_lock(paths: Paths, project: str) -> Iterator[None]:
    run_dir = paths.stack_run(project)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
