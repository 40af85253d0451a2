"""``/dev/shm`` shared along with the IPC namespace, as Docker shares it.

Joining another container's IPC namespace (``ipc: service:x``) shares System V IPC only. POSIX
shared memory (``shm_open``, what PostgreSQL, Chromium and most data-science stacks use) lives in
files under ``/dev/shm``, and a fresh tmpfs there per container kept the two apart. A mount in x's
mount namespace cannot be bound into another's, so, as Docker does for a shareable IPC
namespace, x's ``/dev/shm`` is a tmpfs on the host, at ``<container dir>/shm``, bound into x; a
joiner binds the very same tmpfs. The joiner reaches it through a bind of its own at
``<its dir>/shm``, renewed at every start like its namespace pins, so that it follows x when x
is recreated. ``ipc: host`` gets the host's ``/dev/shm``.

Only a container that others may join gets a host-side tmpfs: ``ipc: shareable``, or a service
that another service of the stack names in ``ipc: service:NAME``. Any other keeps the runtime's
own private tmpfs, with nothing left on the host to clean up.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from orchestrator.errors import PystackError
from orchestrator.reconcile.context import Context
from orchestrator.state.containers import ContainerRecord

SHM = "shm"
DEFAULT_SIZE = 64 * 1024 * 1024  # what Docker, and the runtime's own /dev/shm, default to
_OPTIONS = ["rbind", "nosuid", "nodev", "noexec"]


def mounts(ctx: Context, rec: ContainerRecord, ipc: str | None, shared: bool, size: int | None) -> list[dict[str, Any]]:
    """The ``/dev/shm`` mount that replaces the runtime's default, or none to keep the default."""
    cdir = ctx.paths.container(rec.id)
    if ipc == "host":
        return [_bind("/dev/shm")]
    if ipc and ipc.startswith(("service:", "container:")):
        return [_bind(str(cdir / SHM))] if follow(ctx, rec, ipc) else []
    if shared and ipc not in ("private", "none"):
        _make_own(cdir / SHM, size or DEFAULT_SIZE)
        return [_bind(str(cdir / SHM))]
    return []


def follow(ctx: Context, rec: ContainerRecord, ipc: str) -> bool:
    """Bind the donor's host-side ``/dev/shm`` at ``<rec's dir>/shm`` in place of any earlier bind;
    False (nothing changed) when the donor has none (created before pystack shared it, or a
    container that nobody said would be joined)."""
    from orchestrator.reconcile.isolation import donor
    from orchestrator.runtime import kernel as k

    giver = donor(ctx, rec.project, ipc)
    if giver is None:
        return False
    source = ctx.paths.container(giver.id) / SHM
    if not _is_mount(source):
        return False
    target = ctx.paths.container(rec.id) / SHM
    target.mkdir(mode=0o700, exist_ok=True)
    k.detach_all(str(target))
    try:
        k.mount(str(source), str(target), None, k.MS_BIND)
    except OSError as exc:
        raise PystackError(f"service {rec.service!r}: ipc: {ipc}: /dev/shm of {giver.name}: {exc.strerror}") from None
    return True


def release(cdir: Path) -> None:
    """Unmount ``<cdir>/shm`` (a container's own tmpfs or its bind of a donor's); idempotent."""
    target = cdir / SHM
    if target.is_dir():
        from orchestrator.runtime import kernel as k

        k.detach_all(str(target))
        with contextlib.suppress(OSError):
            target.rmdir()


def _make_own(target: Path, size: int) -> None:
    from orchestrator.runtime import kernel as k

    target.mkdir(mode=0o700, exist_ok=True)
    if _is_mount(target):
        return
    flags = k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC
    try:
        k.mount("shm", str(target), "tmpfs", flags, f"mode=1777,size={size}")
    except OSError as exc:
        raise PystackError(f"/dev/shm at {target}: {exc.strerror}") from None


def _bind(source: str) -> dict[str, Any]:
    return {"destination": "/dev/shm", "type": "bind", "source": source, "options": list(_OPTIONS)}


def _is_mount(path: Path) -> bool:
    try:
        return path.is_mount()
    except OSError:
        return False

