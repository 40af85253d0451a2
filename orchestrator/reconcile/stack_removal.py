"""Removing every container of a stack at once, as ``down`` does once they have stopped.

:func:`orchestrator.reconcile.lifecycle.remove` takes one container apart and records each step
in a transaction of its own, which suits one container. For fifty, their ~450 transactions
queued on the database's single write lock and were most of a ``down``. Here the intent is
recorded for all of them in one transaction, each container's kernel and file work (process,
cgroup, runtime directory, network namespace pin, root filesystem) runs in a worker thread, and
the rows of those that are gone go in a transaction per kind (network, image holds, containers).
DNS names and published ports are not withdrawn one by one either: the stack's network service
is being stopped meanwhile.

It is for a stack whose links all go as one group (see
:meth:`~orchestrator.network.driver.NetworkDriver.stack_links`), in a thread beside this
removal: otherwise each container's namespace has to go first, so that the kernel takes its
veths in a batch, and ``lifecycle.remove`` waits for them. An interrupted run leaves rows marked ``removing``, which
the next ``down`` finishes: every step tolerates what is already gone.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from orchestrator.errors import PystackError
from orchestrator.reconcile import lifecycle, threads
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.parallel import describe
from orchestrator.state import containers as cstate
from orchestrator.state.containers import ContainerRecord

if TYPE_CHECKING:
    from orchestrator.reconcile.anonymous import Disposal

Report = Callable[[str], None]

# A container's removal is short kernel calls between bits of Python: more threads than this only
# queue for the interpreter lock (50 containers here: 0.34 s with 8 threads, 0.37-0.43 s with 50).
WORKERS = 8


def remove_all(ctx: Context, records: Sequence[ContainerRecord], report: Report,
               anonymous: Disposal = "release") -> dict[str, str]:
    """Remove ``records``; returns name → why for those that could not be (their rows stay).
    ``anonymous`` says what becomes of their anonymous volumes, as in ``lifecycle.remove``."""
    if not records:
        return {}
    cstate.mark_removing(ctx.db(), [r.id for r in records])
    failed: dict[str, str] = {}
    gone: list[ContainerRecord] = []
    for done in threads.each(lambda rec: _take_apart(ctx, rec, anonymous), records, limit=WORKERS):
        if done.error is not None:
            failed[done.item.name] = describe(done.error)
            report(f"Container {done.item.name}  Error: {failed[done.item.name]}")
        else:
            gone.append(done.item)
    ids = [r.id for r in gone]
    ctx.network.forget_containers(ids)
    ctx.images.release_all(ids)
    cstate.forget_containers(ctx.db(), gone)
    for rec in gone:
        report(f"Container {rec.name}  Removed")
    return failed


def _take_apart(ctx: Context, rec: ContainerRecord, anonymous: Disposal) -> None:
    """Everything of one container but its rows, in the order ``lifecycle.remove`` keeps."""
    from orchestrator.reconcile import isolation, tmpfs_volumes
    from orchestrator.reconcile.anonymous import dispose
    from orchestrator.reconcile.wiring import owns_netns
    from orchestrator.storage.rootfs import unmount_rootfs

    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    with contextlib.suppress(PystackError):
        if rt.state(rec.id).status in ("running", "paused", "created"):
            lifecycle.stop(ctx, rec, timeout=0)
    with contextlib.suppress(PystackError, FileNotFoundError):
        rt.delete(rec.id, force=True)
    if owns_netns(rec):
        ctx.network.unpin_netns(rec.id)
    isolation.release(ctx, rec)
    cdir = lifecycle.container_dir(ctx, rec)
    unmount_rootfs(cdir)
    dispose(ctx.paths, cdir, rec, anonymous)
    tmpfs_volumes.release(ctx.paths, cdir, rec.id)
    shutil.rmtree(cdir, ignore_errors=True)
