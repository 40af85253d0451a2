"""Pin a running process's namespace to a file, so a bundle can name it by a path that stays true.

``ipc``/``pid: service:x`` join x's namespace. ``/proc/<pid>/ns/ipc`` would do for the first
start, but the bundle is used again for every restart, when that pid may be gone or belong to
another process: joining *that* would hand the container a stranger's namespace. A bind mount of
the namespace file (as ``ip netns`` does for network namespaces) keeps the very namespace reachable
at a path of the container's own until :func:`unpin_all` is called at removal.

A pin is replaced, never stacked, when the container starts again: the donor may have restarted
into new namespaces, and its dependant must follow it (Docker resolves ``container:x`` at every
start). A stacked bind would hide the old namespace without letting it go.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from orchestrator.errors import RuntimeFailure

PREFIX = "ns-"


def pin(pid: int, kind: str, dest_dir: Path, still_same: Callable[[], bool]) -> Path:
    """Bind ``/proc/<pid>/ns/<kind>`` to ``dest_dir/ns-<kind>`` in place of any earlier pin there;
    ``still_same`` is asked after the namespace is opened, so a pid that died and was reused in
    between is refused, not pinned (and the earlier pin is left as it was)."""
    from orchestrator.runtime import kernel as k

    dest = dest_dir / f"{PREFIX}{kind}"
    try:
        fd = os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise RuntimeFailure(f"{kind} namespace of process {pid}: {exc.strerror}") from None
    try:
        if not still_same():
            raise RuntimeFailure(f"{kind} namespace of process {pid}: the process exited")
        k.detach_all(str(dest))  # first: an earlier pin is an nsfs file, which refuses touch's utime
        dest.touch(mode=0o600, exist_ok=True)
        k.mount(f"/proc/self/fd/{fd}", str(dest), None, k.MS_BIND)
    except OSError as exc:
        raise RuntimeFailure(f"{kind} namespace of process {pid}: pinning it at {dest}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return dest


def unpin_all(dest_dir: Path) -> None:
    """Undo every pin in ``dest_dir``; idempotent, and silent for what is not (or no longer) there."""
    if not dest_dir.is_dir():
        return
    from orchestrator.runtime import kernel as k

    for p in dest_dir.glob(f"{PREFIX}*"):
        k.detach_all(str(p))
        with contextlib.suppress(OSError):
            p.unlink()
