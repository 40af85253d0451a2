"""The watch loop: changes gathered into batches, each routed by the rules and handed on.

An editor's save or a ``git checkout`` is a burst of changes; acting on the first would restart a
service, or rebuild an image, halfway through it. So a batch closes once the tree has been quiet
for :data:`QUIET` seconds (as Compose waits), or after :data:`LONGEST` at most, so that a tree
that never settles is still served. The loop blocks in ``select`` between bursts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

from orchestrator.develop.inotify import OVERFLOW, Inotify
from orchestrator.develop.rules import Rule, Work, prunable, route

QUIET = 0.5  # seconds without a change that close a batch
LONGEST = 5.0  # seconds a batch may gather for at most


def everything(rules: Iterable[Rule]) -> set[str]:
    """Every path under the rules' paths that a rule could see (for an initial sync, or after the
    kernel dropped events): pruned directories are not walked."""
    rules = list(rules)
    out: set[str] = set()
    for top in {r.path for r in rules}:
        if not os.path.isdir(top) or os.path.islink(top):
            if os.path.lexists(top):
                out.add(top)
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not prunable(rules, os.path.join(dirpath, d))]
            out.update(os.path.join(dirpath, d) for d in dirnames)
            out.update(os.path.join(dirpath, f) for f in filenames)
    return out


def watch(rules: list[Rule], act: Callable[[dict[str, Work]], None], *, wake_fd: int | None = None,
          ready: Callable[[], None] | None = None, quiet: float = QUIET, longest: float = LONGEST) -> None:
    """Watch the rules' paths and call ``act`` with each batch's work until ``wake_fd`` is readable."""
    with Inotify(prune=lambda d: prunable(rules, d)) as ino:
        for top in sorted({r.path for r in rules}):
            ino.watch(top)
        if ready is not None:
            ready()
        while True:
            if not ino.wait(None, wake_fd):
                return
            changed = ino.read()
            deadline = time.monotonic() + longest
            while (left := deadline - time.monotonic()) > 0 and ino.wait(min(quiet, left), wake_fd):
                changed |= ino.read()
            if wake_fd is not None and _readable(wake_fd):
                return
            if OVERFLOW in changed:
                changed = everything(rules)
            work = route(rules, changed)
            if work:
                act(work)


def _readable(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 0)[0])
