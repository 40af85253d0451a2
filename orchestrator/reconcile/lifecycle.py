"""One container's life: create, start, stop, restart in place, remove.

Each step records its intent in the state database before touching the kernel and its outcome
after, so an interrupted step is visible to the next run (``creating`` rows are recreated,
``removing`` rows are finished). These functions block; the engine runs them in worker threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal as _signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import PystackError
from orchestrator.reconcile import imageconfig
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.desired import RunInfo, ServicePlan, record_spec, run_info
from orchestrator.state import containers as cstate
from orchestrator.state.containers import ContainerRecord

if TYPE_CHECKING:
    from orchestrator.reconcile.anonymous import Disposal
    from orchestrator.runtime.api import ExitStatus
    from orchestrator.runtime.logfile import LogWriter

LOG_NAME = "log.json"
KILLED_EXIT_WAIT = 2.0  # a PID 1 sent SIGKILL is gone at once; past this, its whole cgroup is killed
STOPPING = "stopping"  # the pid and start time of the command stopping the container, while it does
RESTARTING = "restarting"  # there while a stopped run is replaced by a new one (see lost_in_restart)
REMOVE_ON_EXIT = "remove-on-exit"  # a detached ``run --rm``: the supervisor removes it when it ends


def new_id() -> str:
    return os.urandom(6).hex()


def container_dir(ctx: Context, rec: ContainerRecord) -> Path:
    return ctx.paths.container(rec.id)


def create(ctx: Context, sp: ServicePlan, number: int, *, one_off: bool = False,
           name: str | None = None, overrides: dict[str, Any] | None = None,
           renew_anonymous: bool = False, attach_stdin: bool = False,
           console_socket: Path | None = None, remove_if_orphaned: bool = False) -> ContainerRecord:
    """Make the container (root, network, bundle, runtime ``create``) without starting it.

    A service container takes over the anonymous volumes its replica's predecessor left, unless
    ``renew_anonymous`` (``up -V``): see :mod:`orchestrator.reconcile.anonymous`. With
    ``attach_stdin`` its process reads this command's standard input (a foreground ``run``); with
    ``console_socket`` (and ``tty`` in the overrides) the runtime sends the master of its pty there.
    ``tty`` and ``stdin_open`` in the overrides (``run``'s own choice) replace the service's.
    With ``remove_if_orphaned`` (a foreground ``run --rm``) the container's monitor removes it
    after it ends if this command is gone by then (:mod:`orchestrator.reconcile.orphan_removal`)."""
    cid = new_id()
    max_size, max_files = imageconfig.log_limits(sp)
    info = run_info(sp, max_size, max_files)
    if overrides and "stdin_open" in overrides:
        info = dataclasses.replace(info, open_stdin=bool(overrides["stdin_open"]))
    rec = ContainerRecord(
        id=cid, name=name or sp.container_name_for(number), project=sp.project, service=sp.service,
        number=number, config_hash=sp.config_hash, status="creating", one_off=one_off, image=sp.image,
        runtime=sp.runtime or "pystack", spec=record_spec(sp, info),
    )
    conn = ctx.db()
    existing = cstate.by_name(conn, rec.name)
    if existing is not None:
        raise PystackError(f'container name "{rec.name}" is already in use by container {existing.id}')
    cstate.insert(conn, rec)
    try:
        _build(ctx, sp, rec, overrides or {}, renew_anonymous, attach_stdin, console_socket, remove_if_orphaned)
    except BaseException:
        with contextlib.suppress(Exception):
            # a service container's volumes stay for the next try to take over, data and all
            remove(ctx, rec, timeout=0, anonymous="delete" if one_off else "keep")
        raise
    return rec


def _build(ctx: Context, sp: ServicePlan, rec: ContainerRecord, overrides: dict[str, Any],
           renew_anonymous: bool, attach_stdin: bool, console_socket: Path | None,
           remove_if_orphaned: bool = False) -> None:
    from orchestrator.reconcile import anonymous, isolation, secrets, wiring
    from orchestrator.runtime.config_builder import build_config, write_bundle
    from orchestrator.storage.rootfs import mount_rootfs

    conn = ctx.db()
    image = ctx.images.resolve(sp.image)
    cstate.update(conn, rec.id, image_id=image.id)
    rec.image_id = image.id
    cdir = ctx.paths.container(rec.id)
    cdir.mkdir(parents=True, exist_ok=True)
    ctx.images.acquire(image, rec.id)  # image rm / prune leave it alone while the container exists
    lowers = ctx.images.layer_dirs(image)
    rootfs = mount_rootfs(lowers, cdir)
    netns, hostfiles = wiring.wire_network(ctx, sp, rec, cdir)
    cstate.update(conn, rec.id, netns=netns)
    rec.netns = netns
    wanted = anonymous.targets(sp.mounts, anonymous.image_volume_paths(image.container_config))
    anon = anonymous.assign(ctx.paths, cdir, rec, wanted, renew=renew_anonymous)
    mounts = wiring.mounts_for(ctx, sp, rec, rootfs, hostfiles, anon)
    mounts += secrets.mounts_for(ctx, sp, rec)  # after the volumes: a secret shows over a volume's file
    opts = imageconfig.container_options(sp, image.config, rec, rootfs=rootfs, netns=netns, mounts=mounts,
                                         overrides=overrides)
    isolation.apply(ctx, sp, rec, opts)  # ipc/pid/uts, devices, group_add, cgroup_parent, volumes_from
    write_bundle(cdir, build_config(opts))
    rt = ctx.runtime(sp.runtime)
    info = RunInfo.from_record_spec(rec.spec)
    orphan_exit: list[str] = []
    if remove_if_orphaned:
        from orchestrator.reconcile import orphan_removal

        orphan_exit = orphan_removal.command(ctx.paths, rec.id, ctx.host_netns)
    rt.create(rec.id, cdir, log_path=cdir / LOG_NAME, log_max_size=info.log_max_size,
              log_max_files=info.log_max_files, attach_stdin=attach_stdin, console_socket=console_socket,
              open_stdin=info.open_stdin, orphan_exit_command=orphan_exit,
              orphan_exit_unless_gone=cdir)  # remove() deletes it last, just before the record
    cstate.update(conn, rec.id, status="created")
    rec.status = "created"
    cstate.add_event(conn, rec.project, "create", service=rec.service, container=rec.name, container_id=rec.id)


def open_log(ctx: Context, rec: ContainerRecord) -> LogWriter:
    """The container's log for the one other writer it has besides its monitor: a foreground
    ``run`` holding the master of its pty, the only place its output passes through (the
    monitor's pipes stay empty). The same file and size limits, so ``logs`` reads it alike."""
    from orchestrator.runtime.logfile import LogWriter

    info = RunInfo.from_record_spec(rec.spec)
    return LogWriter(str(ctx.paths.container(rec.id) / LOG_NAME), info.log_max_size, info.log_max_files)


def start(ctx: Context, rec: ContainerRecord) -> None:
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    try:
        status = rt.state(rec.id).status
    except PystackError:
        if not lost_in_restart(ctx, rec):
            raise
        status = "stopped"  # what the failed restart left is the old run's end: start it anew
    if status == "stopped":
        _recreate_process(ctx, rec)
    elif status == "running":
        return
    rt.start(rec.id)
    now = time.time()
    cstate.update(ctx.db(), rec.id, status="running", started_at=now, desired="running", exit_code=None,
                  oom_killed=False, health="starting" if RunInfo.from_record_spec(rec.spec).healthcheck else None)
    rec.status, rec.started_at = "running", now
    cstate.add_event(ctx.db(), rec.project, "start", service=rec.service, container=rec.name, container_id=rec.id)


def _recreate_process(ctx: Context, rec: ContainerRecord) -> None:
    """A stopped OCI container cannot start again: delete it and create it anew from the same bundle.

    The root filesystem, the network namespace and the log file stay; only the process is new.
    The ipc/pid namespaces it joins are pinned again first, from its donor's process of now: every
    restart (a command's or the restart policy's) comes here. A donor that is not running fails
    it before the old run is deleted, so the container stays a stopped one to try again.
    """
    from orchestrator.reconcile import isolation, tmpfs_volumes

    isolation.repin(ctx, rec)
    cdir = ctx.paths.container(rec.id)
    tmpfs_volumes.retake(ctx.paths, cdir, rec.id)
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    note = cdir / RESTARTING
    note.touch()
    with contextlib.suppress(PystackError):
        rt.delete(rec.id, force=True)
    info = RunInfo.from_record_spec(rec.spec)
    rt.create(rec.id, cdir, log_path=cdir / LOG_NAME, log_max_size=info.log_max_size,
              log_max_files=info.log_max_files, open_stdin=info.open_stdin)
    note.unlink(missing_ok=True)


def remove_on_exit(ctx: Context, rec: ContainerRecord) -> None:
    """Mark a one-off container for removal when it ends (``run -d --rm``).

    Docker's daemon does this for a container with AutoRemove; here the stack's supervisor, which
    already waits on its containers' processes, watches a one-off container only when so marked.
    A mark rather than a column: it lives and goes with the container's directory."""
    (ctx.paths.container(rec.id) / REMOVE_ON_EXIT).touch()


def removed_on_exit(ctx: Context, rec: ContainerRecord) -> bool:
    return (ctx.paths.container(rec.id) / REMOVE_ON_EXIT).exists()


def lost_in_restart(ctx: Context, rec: ContainerRecord) -> bool:
    """Whether the runtime has no container for ``rec`` because a restart deleted the old run and
    then failed to create the new one (a bind source gone, a donor's namespace that died meanwhile).

    Such a container is still a stopped one, for ``start`` and for the restart policy alike: without
    this, the runtime's "does not exist" ended its supervision and every later start for good.
    """
    return (ctx.paths.container(rec.id) / RESTARTING).exists()


def signal_number(name: str | int | None) -> int:
    if name is None:
        return int(_signal.SIGTERM)
    if isinstance(name, int):
        return name
    s = name.upper()
    if s.isdigit():
        return int(s)
    if not s.startswith("SIG"):
        s = "SIG" + s
    try:
        return int(_signal.Signals[s])
    except KeyError:
        raise PystackError(f"unknown signal {name!r}") from None


def send_stop(ctx: Context, rec: ContainerRecord, stop_signal: str | None) -> bool:
    """Ask a running container to stop; False when it was not running."""
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    try:
        st = rt.state(rec.id)
    except PystackError:
        return False
    if st.status not in ("running", "paused", "created"):
        return False
    _note_stopper(ctx, rec)
    cstate.want_stopped(ctx.db(), rec.id)
    if st.status == "paused":
        with contextlib.suppress(PystackError):
            rt.resume(rec.id)
    if st.status == "created":
        rt.kill(rec.id, int(_signal.SIGKILL))
        return True
    with contextlib.suppress(PystackError):
        rt.kill(rec.id, signal_number(stop_signal))
    return True


def stop_signal_for(grace: float, stop_signal: str | None) -> str | None:
    """The signal that stops a container given ``grace`` seconds: its stop signal, or SIGKILL at once
    when there is no grace period (``-t 0``), where the stop signal would be followed by SIGKILL
    before any handler could finish. The kill of the whole cgroup stays for what outlives PID 1."""
    return "SIGKILL" if grace <= 0 else stop_signal


def finish_stop(ctx: Context, rec: ContainerRecord, deadline: float, *, killed: bool = False) -> None:
    """Wait for the exit until the deadline (for a PID 1 sent SIGKILL, ``killed``, until it is
    reaped: :data:`KILLED_EXIT_WAIT` at most), then SIGKILL the cgroup; record the exit status."""
    record_stop(ctx, rec, await_exit(ctx, rec, deadline, killed=killed))


def await_exit(ctx: Context, rec: ContainerRecord, deadline: float, *, killed: bool = False) -> ExitStatus | None:
    """The waiting half of :func:`finish_stop`, which touches no database: many containers wait
    in threads at once, and their exits are then recorded from one thread (see
    :func:`orchestrator.reconcile.engine.stop_containers`)."""
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    left = max(0.0, deadline - time.monotonic())
    status = rt.wait(rec.id, timeout=max(left, KILLED_EXIT_WAIT) if killed else left)
    if status is None:
        with contextlib.suppress(PystackError):
            rt.kill(rec.id, int(_signal.SIGKILL), all=True)
        status = rt.wait(rec.id, timeout=10.0)
    return status


def record_stop(ctx: Context, rec: ContainerRecord, status: ExitStatus | None) -> None:
    """The recording half of :func:`finish_stop`: the exit status, the die event unless a monitor
    or the supervisor recorded it first, and the stop event."""
    changes: dict[str, Any] = {"finished_at": time.time()}
    if status is not None:
        changes.update(exit_code=status.code, oom_killed=status.oom_killed)
    if not cstate.record_exit(ctx.db(), rec.id, **changes):  # its die event, unless already recorded
        cstate.update(ctx.db(), rec.id, status="exited", **changes)
    rec.status = "exited"
    with contextlib.suppress(FileNotFoundError):
        (container_dir(ctx, rec) / STOPPING).unlink()
    cstate.add_event(ctx.db(), rec.project, "stop", service=rec.service, container=rec.name, container_id=rec.id)


def _note_stopper(ctx: Context, rec: ContainerRecord) -> None:
    """Leave the note before the row says "stopped": no moment shows a stop without its owner."""
    from orchestrator.runtime.store import write_owner_note

    with contextlib.suppress(FileNotFoundError):
        write_owner_note(container_dir(ctx, rec) / STOPPING)


def stop_abandoned(ctx: Context, rec: ContainerRecord) -> bool:
    """A running container whose row wants it stopped, while no live command is stopping it.

    That is a ``stop`` or ``down`` killed during the grace period: the row keeps desired
    "stopped", so the restart policy would no longer apply to a container that still runs.
    """
    from orchestrator.runtime.store import owner_gone

    return rec.status == "running" and rec.desired == "stopped" and owner_gone(container_dir(ctx, rec) / STOPPING)


def stop(ctx: Context, rec: ContainerRecord, *, timeout: float | None = None,
         report: Callable[[str], None] | None = None, hooks: bool = True) -> None:
    """Stop one container by a command's will: its pre_stop hooks first (notes to ``report``; a
    failing one raises :class:`~orchestrator.reconcile.service_hooks.HookFailed`, nothing stopped)."""
    info = RunInfo.from_record_spec(rec.spec)
    grace = timeout if timeout is not None else info.stop_grace_period
    if hooks and rec.status == "running":
        from orchestrator.reconcile import service_hooks

        for problem in service_hooks.pre_stop(ctx, rec, grace):
            if report is not None:
                report(problem)
    sig = stop_signal_for(grace, info.stop_signal)
    if send_stop(ctx, rec, sig):
        finish_stop(ctx, rec, time.monotonic() + grace, killed=sig == "SIGKILL")
    elif rec.status != "exited" and not cstate.record_exit(ctx.db(), rec.id, desired="stopped"):
        cstate.update(ctx.db(), rec.id, status="exited", desired="stopped")


def remove(ctx: Context, rec: ContainerRecord, *, timeout: float | None = 0,
           anonymous: Disposal = "release", report: Callable[[str], None] | None = None) -> None:
    """Undo everything a container has: process, cgroup, network, DNS names, root, directory, row;
    its anonymous volumes are kept for a replacement, released or deleted as ``anonymous`` says.

    A running container's pre_stop hooks run first when there is a grace period (``timeout`` 0, the
    removals that follow a stop, runs none), before anything is marked: one that fails raises and
    leaves the container as it was."""
    from orchestrator.reconcile import isolation, service_hooks, tmpfs_volumes, wiring
    from orchestrator.reconcile.anonymous import dispose
    from orchestrator.storage.rootfs import unmount_rootfs

    grace = timeout if timeout is not None else RunInfo.from_record_spec(rec.spec).stop_grace_period
    if rec.status == "running" and grace > 0:
        for note in service_hooks.pre_stop(ctx, rec, grace):
            if report is not None:
                report(note)
    conn = ctx.db()
    cstate.update(conn, rec.id, status="removing", desired="removed")
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    with contextlib.suppress(PystackError):
        if rt.state(rec.id).status in ("running", "paused", "created"):
            stop(ctx, rec, timeout=timeout, report=report, hooks=False)
    with contextlib.suppress(PystackError, FileNotFoundError):
        rt.delete(rec.id, force=True)
    wiring.unwire_network(ctx, rec)
    isolation.release(ctx, rec)
    cdir = ctx.paths.container(rec.id)
    unmount_rootfs(cdir)
    ctx.images.release(rec.id)
    dispose(ctx.paths, cdir, rec, anonymous)
    tmpfs_volumes.release(ctx.paths, cdir, rec.id)
    import shutil  # a removal only: create and start, on every run's path, do without (~3 ms)

    shutil.rmtree(cdir, ignore_errors=True)
    cstate.delete(conn, rec.id)
    cstate.add_event(conn, rec.project, "remove", service=rec.service, container=rec.name, container_id=rec.id)
