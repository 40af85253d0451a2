"""A container's attachments to the world outside it: network namespace, DNS names, host files, mounts.

Network modes as Compose has them: bridge networks (a named netns wired by the network driver,
kept for the container's whole life so restarts keep their address), ``host``, ``none`` (an
empty namespace of its own), ``service:x`` and ``container:x`` (join that container's named
namespace by path). The named namespace outlives the process in it, which is what keeps
``service:x`` dependants connected while x restarts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import PystackError
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.desired import MountPlan, ServicePlan
from orchestrator.state import containers as cstate
from orchestrator.state.containers import ContainerRecord

if TYPE_CHECKING:
    from orchestrator.network.ports import PortBinding

HOSTFILES = ("hosts", "resolv.conf", "hostname")


def _joined_netns(ctx: Context, sp: ServicePlan, mode: str) -> str:
    kind, _, target = mode.partition(":")
    conn = ctx.db()
    rec: ContainerRecord | None
    if kind == "service":
        candidates = [c for c in cstate.for_project(conn, sp.project, include_one_off=False) if c.service == target]
        rec = min(candidates, key=lambda c: c.number) if candidates else None
    else:
        rec = cstate.by_name(conn, target) or cstate.get(conn, target)
    if rec is None or not rec.netns:
        raise PystackError(f"service {sp.service!r}: network_mode {mode!r}: no container with a network to join")
    return rec.netns


def container_hostname(sp: ServicePlan, rec: ContainerRecord) -> str:
    """The name in the container's /etc/hostname and /etc/hosts: the one the file gives, else its id.

    With ``uts: host`` the container's name is the host's, so the files say that, as Docker's do:
    a program reading /etc/hostname must not find another name than ``hostname`` prints."""
    if sp.uts == "host":
        return os.uname().nodename
    return sp.hostname or rec.id


def wire_network(ctx: Context, sp: ServicePlan, rec: ContainerRecord, cdir: Path) -> tuple[str | None, dict[str, Path]]:
    """Returns the netns to join ("host", a path, or None for a new empty one) and host files to mount."""
    from orchestrator.network import hostfiles

    mode = sp.network_mode or ""
    files = {name: cdir / name for name in HOSTFILES}
    hostname = container_hostname(sp, rec)
    if mode == "host":  # the host's files and name, as Docker gives a container on the host's network
        for name, src in (("hosts", "/etc/hosts"), ("resolv.conf", "/etc/resolv.conf")):
            with contextlib.suppress(OSError):
                files[name].write_bytes(Path(src).read_bytes())
        extra = "".join(f"{ip}\t{h}\n" for h, ip in _no_gateway(sp.extra_hosts))
        if extra:  # extra_hosts after the host's own entries
            with files["hosts"].open("a+") as fh:
                fh.seek(0)
                text = fh.read()
                fh.write(extra if not text or text.endswith("\n") else "\n" + extra)
        hostfiles.write_hostname(files["hostname"], sp.hostname or os.uname().nodename)
        return "host", files
    if mode.startswith(("service:", "container:")):
        netns = _joined_netns(ctx, sp, mode)
        hostfiles.write_hosts(files["hosts"], hostname, None, _no_gateway(sp.extra_hosts))
        hostfiles.write_resolv_conf(files["resolv.conf"], sp.dns or [], sp.dns_search, sp.dns_opt)
        hostfiles.write_hostname(files["hostname"], hostname)
        return netns, files
    if mode == "none" or not sp.networks:
        hostfiles.write_hosts(files["hosts"], hostname, None, _no_gateway(sp.extra_hosts))
        hostfiles.write_resolv_conf(files["resolv.conf"], sp.dns or [], sp.dns_search, sp.dns_opt)
        hostfiles.write_hostname(files["hostname"], hostname)
        return None, files

    from orchestrator.network.driver import Attachment
    from orchestrator.network.ports import PortBinding
    from orchestrator.network.records import register_dns, register_link
    from orchestrator.network.service import poke_service

    driver = ctx.network
    ns = driver.create_netns(rec.id, project=sp.project)
    attachments = [
        Attachment(network=n.network, aliases=list(n.aliases), ipv4_address=n.ipv4_address,
                   mac_address=n.mac_address, priority=n.priority, gw_priority=n.gw_priority)
        for n in sp.networks
    ]
    endpoints = driver.attach(rec.id, ns, attachments, project=sp.project)
    conn = ctx.db()
    for n, ep in zip(sp.networks, endpoints, strict=False):
        names = [rec.name] if rec.one_off and not sp.use_aliases else [sp.service, rec.name, *n.aliases]
        if sp.hostname:
            names.append(sp.hostname)
        register_dns(conn, sp.project, n.network, sorted(set(names)), ep.address, rec.id)
        for target, alias in sp.links.items():  # visible to this container only, following the target
            register_link(conn, sp.project, n.network, alias, target, rec.id)
    first = endpoints[0]
    wanted = [PortBinding(p.host_ip, p.published or 0, first.address, p.target, p.protocol, p.published_max or 0)
              for p in sp.ports]
    if wanted:  # published 0 (``ports: ["80"]``) gets a free host port here, as Docker does
        publish_ports(ctx, sp.project, sp.service, rec, wanted)
    hostfiles.write_hosts(files["hosts"], hostname, first.address, sp.extra_hosts, gateway=first.gateway)
    poke_service(ctx.paths, sp.project)
    nameservers = sp.dns or [first.gateway]
    hostfiles.write_resolv_conf(files["resolv.conf"], nameservers, sp.dns_search, sp.dns_opt)
    hostfiles.write_hostname(files["hostname"], hostname)
    return str(ns), files


def publish_ports(ctx: Context, project: str, service: str, rec: ContainerRecord, wanted: list[PortBinding]) -> None:
    """Pick the host ports and record them. Replicas wired at the same time may pick the same port
    of a range: recording it is the arbiter (one row per port), and the loser picks again."""
    from orchestrator.network.ports import PortInUse, register_ports

    for attempt in range(8):
        bindings = ports_free(ctx, project, wanted)
        try:
            register_ports(ctx.db(), project, service, rec.id, rec.name, bindings)
            return
        except PortInUse:
            if attempt == 7 or not any(b.ranged for b in wanted):
                raise


def ports_free(ctx: Context, project: str, wanted: list[PortBinding]) -> list[PortBinding]:
    """``check_ports_free``, asking the stack's network service to let go of ports it no longer needs.

    The service may still hold the port of a container removed a moment ago (removal only pokes
    it, and a removal killed half-way does not even do that): once it has re-read the state, a
    port of the stack's own is free again. A service that a ``down`` killed midway had asked to
    stop may still be closing its sockets: once it is gone, so is its hold. Either way the ports
    are probed once more; :class:`PortInUse` when one still is not free.
    """
    from orchestrator.network.ports import PortInUse, check_ports_free
    from orchestrator.network.service import notify_service

    conn = ctx.db()
    try:
        return check_ports_free(wanted, host_netns=ctx.host_netns, conn=conn, project=project)
    except PortInUse:
        notify_service(ctx.paths, project)
        return check_ports_free(wanted, host_netns=ctx.host_netns, conn=conn, project=project)


def _no_gateway(extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Without a bridge network there is no gateway: host-gateway entries cannot be honoured."""
    return [(h, ip) for h, ip in extra if ip != "host-gateway"]


def owns_netns(rec: ContainerRecord) -> bool:
    """Bridge-mode containers own a named namespace; host, none and joined modes do not."""
    mode = str(((rec.spec.get("run") or {}).get("network_mode")) or "")
    return not (mode in ("host", "none") or mode.startswith(("service:", "container:")))


def unwire_network(ctx: Context, rec: ContainerRecord) -> None:
    """Idempotent: also cleans up after a create that died between making the netns and recording it."""
    if not owns_netns(rec):
        return
    from orchestrator.errors import NetworkFailure
    from orchestrator.network.ports import unregister_ports
    from orchestrator.network.records import unregister_dns
    from orchestrator.network.service import poke_service

    driver = ctx.network
    unregister_dns(ctx.db(), rec.id)
    unregister_ports(ctx.db(), rec.id)
    poke_service(ctx.paths, rec.project)
    # The namespace first: its veths go with it, in the kernel's batch (see NetworkDriver.detach).
    try:
        driver.delete_netns(rec.id)
    except NetworkFailure:
        driver.detach(rec.id)
        raise
    driver.detach(rec.id, netns_deleted=True)


def mounts_for(ctx: Context, sp: ServicePlan, rec: ContainerRecord, rootfs: Path,
               hostfiles: dict[str, Path], anonymous: Mapping[str, str]) -> list[dict[str, Any]]:
    """The container's mounts in the runtime's terms; ``anonymous`` maps each path that gets an
    anonymous volume (the service's and the image's: :mod:`orchestrator.reconcile.anonymous`) to
    the volume's name."""
    from orchestrator.reconcile.anonymous import labels
    from orchestrator.storage import volumes

    out: list[dict[str, Any]] = []
    from_image = [t for t in anonymous if all(m.target != t for m in sp.mounts)]
    for m in [*sp.mounts, *(MountPlan(type="volume", source=None, target=t) for t in from_image)]:
        if m.type == "tmpfs":
            opts = ["nosuid", "nodev"]
            if m.tmpfs_size:
                opts.append(f"size={m.tmpfs_size}")
            if m.tmpfs_mode is not None:
                opts.append(f"mode={m.tmpfs_mode:o}")
            out.append({"destination": m.target, "type": "tmpfs", "source": "tmpfs", "options": opts})
            continue
        if m.type == "volume":
            if m.source is None:
                vdir = volumes.ensure_volume(ctx.paths, anonymous[m.target], labels=labels(rec))
            elif m.volume_tmpfs is not None:  # local driver, type tmpfs: made and mounted there
                from orchestrator.reconcile import tmpfs_volumes

                vdir = tmpfs_volumes.take(ctx.paths, ctx.paths.container(rec.id), rec.id, m.source, m.volume_tmpfs)
            elif m.external and not volumes.volume_exists(ctx.paths, m.source):
                raise volumes.VolumeError(f"external volume {m.source!r} not found: an external volume is made "
                                          "outside this stack (by the stack that owns it)")
            else:
                vdir = volumes.ensure_volume(ctx.paths, m.source)
            if m.device is not None:  # local driver, type none, o bind: the host directory in its place
                vdir = volumes.prepare_bind(Path(m.device), create_host_path=False)
                if not vdir.is_dir():
                    raise volumes.VolumeError(f"volume {m.source}: driver_opts device {m.device} is not a directory")
            if not m.nocopy:  # an empty one gets the image's content, a bound directory too (as Docker)
                volumes.populate_from_image(vdir, rootfs, m.target)
            src = vdir
        else:
            assert m.source is not None
            src = volumes.prepare_bind(Path(m.source), create_host_path=m.create_host_path)
        opts = ["rbind", "ro" if m.read_only else "rw"]
        if m.propagation:
            opts.append(m.propagation)
        out.append({"destination": m.target, "type": "bind", "source": str(src), "options": opts})
    targets = {m["destination"] for m in out}
    for name, path in hostfiles.items():
        dest = f"/etc/{name}"
        if dest not in targets and path.exists():
            out.append({"destination": dest, "type": "bind", "source": str(path), "options": ["rbind", "rw"]})
    return out
