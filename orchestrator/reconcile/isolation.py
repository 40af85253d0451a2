"""What a container shares with the host or with another container, beyond its network.

``ipc``, ``pid`` and ``uts`` choose the namespaces it joins instead of making its own;
``devices`` and ``device_cgroup_rules`` the device nodes and cgroup rules it gets;
``group_add`` its supplementary groups; ``cgroup_parent`` where its cgroup lives; and
``volumes_from`` the mounts it borrows. Applied to the runtime options after the image config, in
one call from the lifecycle, so that the kernel-facing code keeps a single way in.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import PystackError, RuntimeFailure
from orchestrator.reconcile import shm
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.desired import DevicePlan, ServicePlan
from orchestrator.state import containers as cstate
from orchestrator.state.containers import ContainerRecord

if TYPE_CHECKING:
    from orchestrator.runtime.config_builder import ContainerOptions

_LIVE = ("created", "running", "paused")


def apply(ctx: Context, sp: ServicePlan, rec: ContainerRecord, opts: ContainerOptions) -> None:
    """Fill ``opts`` with the service's sharing keys; pins of joined namespaces go in its directory."""
    from orchestrator.reconcile.volumes_from import borrowed_mounts, remember
    from orchestrator.runtime.config_builder import resolve_groups

    cdir = ctx.paths.container(rec.id)
    opts.ipc_ns = _namespace(ctx, rec, "ipc", sp.ipc, cdir)
    opts.dev_shm = sp.ipc != "none"  # a namespace of its own, as for private, and no /dev/shm
    own_shm = shm.mounts(ctx, rec, sp.ipc, sp.shm_shared, sp.shm_size)  # shared with its IPC namespace
    if own_shm:
        opts.dev_shm = False
        opts.mounts[:0] = own_shm  # before the service's volumes: one of its own at /dev/shm still wins
    opts.pid_ns = _namespace(ctx, rec, "pid", sp.pid, cdir)
    opts.uts_ns = "host" if sp.uts == "host" else None
    if sp.uts == "host":
        opts.hostname = opts.domainname = None
    if sp.group_add:
        try:
            opts.additional_gids = resolve_groups(opts.rootfs, sp.group_add)
        except RuntimeFailure as exc:
            raise PystackError(f"service {sp.service!r}: group_add: {exc}") from None
    opts.devices, rules = host_devices(sp)
    opts.device_rules = [_rule(r) for r in sp.device_cgroup_rules] + rules
    if sp.cgroup_parent:
        opts.cgroups_path = f"{sp.cgroup_parent.strip('/')}/{rec.id}"
    if sp.volumes_from:
        borrowed = borrowed_mounts(ctx, sp, {m["destination"] for m in opts.mounts})
        remember(cdir, borrowed)
        opts.mounts.extend(borrowed)


def repin(ctx: Context, rec: ContainerRecord) -> None:
    """Pin the ipc/pid namespaces that ``rec`` joins anew, from its donor's process of now.

    Called before every new process of an existing container: the donor may have restarted since
    the last pin, into namespaces of its own that are new (the old pid namespace is dead once its
    init is gone, and joining the old ipc namespace would part the two silently). Docker resolves
    ``container:x`` at every start in the same way. A donor that is not running fails the start.
    """
    service = rec.spec.get("service") or {}
    cdir = ctx.paths.container(rec.id)
    for kind in ("ipc", "pid"):
        _namespace(ctx, rec, kind, service.get(kind), cdir)
    ipc = service.get("ipc") or ""
    if ipc.startswith(("service:", "container:")) and (cdir / shm.SHM).is_dir():
        shm.follow(ctx, rec, ipc)  # its /dev/shm is the donor's of now, as its IPC namespace is


def donors_first(recs: Sequence[ContainerRecord]) -> list[list[ContainerRecord]]:
    """``recs`` in tiers to start one after the other: a joiner of ``ipc``/``pid: service:x`` after x.

    Its start pins x's namespaces of now (:func:`repin`), so x must run again first when one
    command restarts both. A reference outside ``recs`` orders nothing: the joiner meets that
    donor as it is."""
    return in_tiers(recs, joined_services)


def in_tiers(recs: Sequence[ContainerRecord],
             waits_for: Callable[[ContainerRecord], set[str]]) -> list[list[ContainerRecord]]:
    """``recs`` in tiers: each container after those of the services ``waits_for`` names, of the
    ones in ``recs``."""
    left = list(recs)
    tiers: list[list[ContainerRecord]] = []
    while left:
        waiting = {r.service for r in left}
        tier = [r for r in left if not (waits_for(r) & (waiting - {r.service}))]
        tier = tier or left  # a cycle, which the loader refuses: never loop on it
        tiers.append(tier)
        left = [r for r in left if r not in tier]
    return tiers


def joined_services(rec: ContainerRecord) -> set[str]:
    service = rec.spec.get("service") or {}
    modes = (service.get(kind) or "" for kind in ("ipc", "pid"))
    return {m.partition(":")[2] for m in modes if m.startswith("service:")}


def release(ctx: Context, rec: ContainerRecord) -> None:
    """Undo the namespace pins and the /dev/shm mounts of a container being removed (before its
    directory goes)."""
    from orchestrator.runtime.nspin import unpin_all

    unpin_all(ctx.paths.container(rec.id))
    shm.release(ctx.paths.container(rec.id))


def donor(ctx: Context, project: str, ref: str) -> ContainerRecord | None:
    """``service:x`` → x's first container in ``project``; ``container:name`` → that container."""
    kind, _, target = ref.partition(":")
    conn = ctx.db()
    if kind == "service":
        same = [c for c in cstate.for_project(conn, project, include_one_off=False) if c.service == target]
        return min(same, key=lambda c: c.number) if same else None
    return cstate.by_name(conn, target) or cstate.get(conn, target)


def _namespace(ctx: Context, joiner: ContainerRecord, kind: str, mode: str | None, cdir: Path) -> str | None:
    """None for a namespace of its own, "host", or the path of a pin of the donor's namespace."""
    if mode == "host":
        return "host"
    if mode is None or not mode.startswith(("service:", "container:")):
        return None
    where = f"service {joiner.service!r}: {kind}: {mode}"
    rec = donor(ctx, joiner.project, mode)
    if rec is None:
        raise PystackError(f"{where}: no such container")
    donor_ipc = (rec.spec.get("service") or {}).get("ipc")
    if kind == "ipc" and donor_ipc in ("private", "none"):  # as Docker: only a shareable one is joined
        raise PystackError(f"{where}: {rec.name} has a private IPC namespace (ipc: {donor_ipc}; make it shareable)")
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    try:
        st = rt.state(rec.id)
    except PystackError:
        st = None
    if st is None or st.status not in _LIVE or not st.pid:
        raise PystackError(f"{where}: {rec.name} is not running")
    pid = st.pid

    def still_same() -> bool:
        try:
            now = rt.state(rec.id)
        except PystackError:
            return False
        return now.pid == pid and now.status in _LIVE

    from orchestrator.runtime.nspin import pin

    try:
        return str(pin(pid, kind, cdir, still_same))
    except RuntimeFailure as exc:
        raise PystackError(f"{where}: {exc}") from None


def host_devices(sp: ServicePlan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OCI ``linux.devices`` entries and their cgroup allow rules; a directory maps every device in it."""
    nodes: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    for d in sp.devices:
        for source, target in _expand(sp, d):
            st = os.stat(source)
            kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
            major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
            nodes.append({"path": target, "type": kind, "major": major, "minor": minor,
                          "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid})
            rules.append({"allow": True, "type": kind, "major": major, "minor": minor, "access": d.permissions})
    return nodes, rules


def _expand(sp: ServicePlan, d: DevicePlan) -> list[tuple[str, str]]:
    where = f"service {sp.service!r}: devices: {d.source}"
    try:
        st = os.stat(d.source)
    except OSError as exc:
        raise PystackError(f"{where}: {exc.strerror}") from None
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return [(d.source, d.target)]
    if not stat.S_ISDIR(st.st_mode):
        raise PystackError(f"{where}: not a device")
    out: list[tuple[str, str]] = []
    for top, _dirs, files in os.walk(d.source):
        for name in sorted(files):
            path = os.path.join(top, name)
            mode = os.stat(path).st_mode
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                out.append((path, d.target.rstrip("/") + "/" + os.path.relpath(path, d.source)))
    if not out:
        raise PystackError(f"{where}: no device in this directory")
    return out


def _rule(text: str) -> dict[str, Any]:
    """``c 1:3 rwm`` (checked by the loader) → an OCI ``linux.resources.devices`` allow rule."""
    kind, numbers, access = text.split()
    major, _, minor = numbers.partition(":")
    rule: dict[str, Any] = {"allow": True, "type": kind, "access": access}
    if major != "*":
        rule["major"] = int(major)
    if minor != "*":
        rule["minor"] = int(minor)
    return rule
