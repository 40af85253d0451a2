"""Stack model → engine plans: the only module below ``spec`` that reads the pydantic models.

It also decides the names Compose gives things: ``<project>-<service>-<n>`` containers,
``<project>-<service>`` images for build-only services, ``<project>_default`` networks.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from orchestrator import sha256
from orchestrator.errors import PystackError
from orchestrator.reconcile import secrets
from orchestrator.reconcile.desired import DevicePlan, FilePlan, MountPlan, NetPlan, PortPlan, ServicePlan
from orchestrator.reconcile.health_merge import effective_health
from orchestrator.reconcile.policy import RestartPolicy
from orchestrator.spec.definitions import used_by as used_definitions
from orchestrator.spec.volume_driver import UnsupportedVolume, local_mount

if TYPE_CHECKING:
    from orchestrator.spec.models import Service, Stack
    from orchestrator.spec.models.networks import ServiceNetwork
    from orchestrator.spec.models.resources import Resources

def image_ref(project: str, svc: Service) -> str:
    return image_ref_of(project, svc.name, svc.image)


def image_ref_of(project: str, service: str, image: str | None) -> str:
    """The image a service (or one of its ``pre_start`` hooks) runs: its ``image``, else the one
    built for it under ``<project>-<service>``."""
    from orchestrator import naming

    return image or naming.image_name(project, service)


def oci_resources(r: Resources) -> dict[str, Any]:
    out: dict[str, Any] = {}
    mem: dict[str, Any] = {}
    if r.memory_limit:
        mem["limit"] = r.memory_limit
    if r.memory_reservation:
        mem["reservation"] = r.memory_reservation
    if r.memswap_limit:
        mem["swap"] = r.memswap_limit
    if r.mem_swappiness is not None:
        mem["swappiness"] = r.mem_swappiness
    if r.oom_kill_disable:
        mem["disableOOMKiller"] = True
    if mem:
        out["memory"] = mem
    cpu: dict[str, Any] = {}
    if r.cpus:
        cpu["period"] = r.cpu_period or 100_000
        cpu["quota"] = int(r.cpus * cpu["period"])
    elif r.cpu_quota:
        cpu["quota"] = r.cpu_quota
        cpu["period"] = r.cpu_period or 100_000
    if r.cpu_shares:
        cpu["shares"] = r.cpu_shares
    if r.cpuset:
        cpu["cpus"] = r.cpuset
    if cpu:
        out["cpu"] = cpu
    if r.pids_limit is not None and r.pids_limit > 0:
        out["pids"] = {"limit": r.pids_limit}
    if r.blkio and r.blkio.weight:
        out["blockIO"] = {"weight": r.blkio.weight}
    return out


def _security(svc: Service) -> tuple[bool, str | dict[str, Any]]:
    """no-new-privileges and the seccomp profile (``default``, ``unconfined`` or a loaded profile)."""
    nnp = False
    profile: str | dict[str, Any] = "default"
    for opt in svc.security_opt:
        key, _, value = opt.replace("=", ":", 1).partition(":")
        if key == "no-new-privileges":
            nnp = value in ("", "true", "1")
        elif key == "seccomp" and value == "unconfined":
            profile = "unconfined"
        elif key == "seccomp":
            try:
                with open(value, "rb") as fh:
                    profile = json.load(fh)
            except (OSError, ValueError) as exc:
                why = exc.strerror if isinstance(exc, OSError) else f"not JSON: {exc}"
                raise PystackError(f"service {svc.name!r}: security_opt seccomp={value}: {why}") from None
            if not isinstance(profile, dict) or "defaultAction" not in profile:
                raise PystackError(f"service {svc.name!r}: security_opt seccomp={value}: "
                                   "not a seccomp profile (no defaultAction)")
    return nnp, profile


def _mounts(svc: Service, stack: Stack) -> list[MountPlan]:
    out: list[MountPlan] = []
    for v in svc.volumes:
        source = v.source
        local = None
        if v.type == "volume" and source is not None and source in stack.volumes:
            top = stack.volumes[source]
            source = top.name
            if not top.external:
                try:
                    local = local_mount(top.driver, top.driver_opts)
                except UnsupportedVolume as exc:  # reported at load; here for a stack built otherwise
                    raise PystackError(f"volume {top.name}: {exc.message}") from None
        out.append(MountPlan(
            type=v.type, source=source, target=v.target, read_only=v.read_only or bool(local and local.read_only),
            device=local.device if local and local.kind == "bind" else None,
            volume_tmpfs=local.options if local and local.kind == "tmpfs" else None,
            tmpfs_size=v.tmpfs.size if v.tmpfs else None, tmpfs_mode=v.tmpfs.mode if v.tmpfs else None,
            propagation=v.bind.propagation if v.bind else None,
            create_host_path=v.bind.create_host_path if v.bind else True,
            nocopy=bool(v.volume and v.volume.nocopy),
            external=bool(v.type == "volume" and source is not None and v.source in stack.volumes
                          and stack.volumes[v.source].external),
        ))
    for t in svc.tmpfs:
        target, _, opts = t.partition(":")
        size = None
        for o in opts.split(","):
            if o.startswith("size="):
                from orchestrator.spec.models.units import parse_size

                size = parse_size(o[5:])
        out.append(MountPlan(type="tmpfs", source=None, target=target, tmpfs_size=size))
    return out


def _volume_definitions(svc: Service, stack: Stack) -> dict[str, Any]:
    """The ``driver``/``driver_opts`` of the named volumes the service mounts, when it sets any: they
    decide what its mount is (a host directory, a tmpfs), so an edit recreates the containers that
    use the volume (``top-level volumes.data.driver_opts.device changed``), where Compose asks to
    recreate the volume itself. Empty for plain volumes, so no hash moves for them."""
    out: dict[str, Any] = {}
    for v in svc.volumes:
        top = stack.volumes.get(v.source or "") if v.type == "volume" else None
        if top is not None and not top.external and (top.driver_opts or top.driver not in (None, "local")):
            out[v.source or ""] = {"driver": top.driver or "local", "driver_opts": dict(top.driver_opts)}
    return {"top-level volumes": out} if out else {}


def _files(svc: Service, stack: Stack) -> list[FilePlan]:
    """The service's secrets and configs with their sources (:mod:`.secrets` writes and mounts them)."""
    out: list[FilePlan] = []
    for kind, refs, declared in (("secret", svc.secrets, stack.secrets), ("config", svc.configs, stack.configs)):
        for ref in refs:
            obj = declared.get(ref.source)
            if obj is None or obj.external:  # the loader refuses both; a plan must not mount nothing
                why = "is not declared" if obj is None else "is external (pystack keeps no secret store)"
                raise PystackError(f"service {svc.name!r}: {kind} {ref.source!r} {why}")
            content = stack.environment.get(obj.environment) if obj.environment is not None else obj.content
            target = (secrets.secret_target if kind == "secret" else secrets.config_target)(ref.source, ref.target)
            out.append(FilePlan(
                kind=kind, name=ref.source, target=target, file=obj.file, environment=obj.environment,
                content=None if obj.file is not None else content,
                uid=secrets.numeric_id(ref.uid), gid=secrets.numeric_id(ref.gid),
                mode=secrets.DEFAULT_MODE if ref.mode is None else ref.mode,
                digest=secrets.digest(kind, ref.source, file=obj.file, content=content),
            ))
    return out


def network_name(stack: Stack, key: str) -> str:
    cfg = stack.networks.get(key)
    return cfg.name if cfg is not None else f"{stack.name}_{key}"


def _networks(svc: Service, stack: Stack) -> list[NetPlan]:
    if svc.network_mode:
        return []
    nets: dict[str, ServiceNetwork | None] = dict(svc.networks) if svc.networks else {"default": None}
    plans = []
    for key, sn in nets.items():
        plans.append(NetPlan(
            network=network_name(stack, key), key=key,
            aliases=tuple(sn.aliases) if sn else (),
            ipv4_address=getattr(sn, "ipv4_address", None) if sn else None,
            mac_address=(sn.mac_address if sn and sn.mac_address else svc.mac_address),
            priority=sn.priority if sn else 0, gw_priority=sn.gw_priority if sn else 0,
        ))
    plans.sort(key=lambda n: (-n.priority, n.key))
    return plans


def used_networks(stack: Stack) -> list[str]:
    keys: list[str] = []
    for svc in stack.services.values():
        if svc.network_mode:
            continue
        for key in svc.networks or ["default"]:
            if key not in keys:
                keys.append(key)
    return keys


def _depends_on(svc: Service) -> dict[str, dict[str, Any]]:
    """``depends_on``, plus the namespaces a service shares: a ``network_mode: service:x`` (or ipc/pid)
    dependant must follow x when x is recreated, or it would keep a namespace nothing is wired to."""
    deps: dict[str, dict[str, Any]] = dict(svc.as_json().get("depends_on") or {})
    for mode in (svc.network_mode, svc.ipc, svc.pid):
        if isinstance(mode, str) and mode.startswith("service:"):
            target = mode.removeprefix("service:")
            entry = deps.setdefault(target, {"condition": "service_started", "required": True})
            entry["restart"] = True
    return deps


def _made_after(svc: Service) -> list[str]:
    """The services whose containers this one's are made from: it joins their namespaces
    (``network_mode``/``ipc``/``pid: service:x``) or mounts their volumes (``volumes_from``). Every
    other dependency only orders the starts."""
    out: list[str] = []
    for entry in svc.volumes_from:
        if not entry.startswith("container:"):
            out.append(entry.split(":")[0])
    for mode in (svc.network_mode, svc.ipc, svc.pid):
        if isinstance(mode, str) and mode.startswith("service:"):
            out.append(mode.removeprefix("service:"))
    return list(dict.fromkeys(out))


def port_plan(target: int, published: str | None, host_ip: str, protocol: str) -> PortPlan:
    """``published`` is one port or, for one container port, a range to pick a free port from."""
    if not published:
        return PortPlan(target, None, host_ip, protocol)
    low, _, high = published.partition("-")
    first, last = int(low), int(high or low)
    if last < first:
        raise ValueError(f"port range {published} ends before it starts")
    return PortPlan(target, first, host_ip, protocol, last if last > first else None)


_HEALTH_FIELDS = ("test", "interval", "timeout", "retries", "start_period", "start_interval", "disable")


def service_plan(stack: Stack, svc: Service, image_id: str = "",
                 image_health: dict[str, Any] | None = None, image_stop_signal: str | None = None) -> ServicePlan:
    """``image_health``: the image config's ``Healthcheck``, which the service's own fields override.
    ``image_stop_signal``: its ``StopSignal`` (postgres' SIGINT, nginx's SIGQUIT), Docker's default
    when the service names none. The image id is in the hash, so a rebuilt image with another
    HEALTHCHECK or STOPSIGNAL recreates too."""
    h = svc.healthcheck
    hc = effective_health(None if h is None else {k: getattr(h, k) for k in _HEALTH_FIELDS}, image_health)
    r = svc.resources
    nnp, seccomp = _security(svc)
    full = svc.as_json()
    spec = {k: v for k, v in full.items() if k != "extensions"}
    # A profile file's content counts, not only its path: an edited profile recreates the service.
    profile = json.dumps(seccomp, sort_keys=True) if isinstance(seccomp, dict) else ""
    files = _files(svc, stack)
    definitions = secrets.definitions(files)  # the top-level secrets/configs used: their sources count too
    definitions.update(_volume_definitions(svc, stack))
    more = json.dumps(definitions, sort_keys=True) if definitions else ""
    config_hash = sha256.hexdigest(f"{svc.config_hash()}:{image_id}{profile}{more}".encode())
    # What the hash covers beyond the file, kept beside it so that a recreate names it
    # ("recreate web-1: image digest changed") instead of a bare "configuration changed".
    if image_id:
        spec["image digest"] = image_id
    if profile:
        spec["seccomp profile"] = sha256.hexdigest(profile.encode())[:16]
    spec.update(definitions)
    return ServicePlan(
        project=stack.name, service=svc.name, image=image_ref(stack.name, svc), config_hash=config_hash,
        scale=svc.scale, container_name=svc.container_name, command=svc.command, entrypoint=svc.entrypoint,
        environment={k: v for k, v in svc.environment.items() if v is not None},
        working_dir=svc.working_dir, user=svc.user, hostname=svc.hostname, domainname=svc.domainname,
        ports=[
            port_plan(p.target, p.published, p.host_ip or "0.0.0.0", p.protocol)
            for p in svc.ports
        ],
        mounts=_mounts(svc, stack), files=files, networks=_networks(svc, stack), network_mode=svc.network_mode,
        links=dict(svc.links), dns=list(svc.dns), dns_search=list(svc.dns_search), dns_opt=list(svc.dns_opt),
        extra_hosts=[(h, ip) for h, ip in svc.extra_hosts], healthcheck=hc,
        ipc=svc.ipc, pid=svc.pid, uts=svc.uts, group_add=list(svc.group_add),
        shm_shared=svc.ipc == "shareable" or any(o.ipc == f"service:{svc.name}" for o in stack.services.values()),
        devices=[DevicePlan(d.source, d.target, d.permissions) for d in svc.devices],
        device_cgroup_rules=list(svc.device_cgroup_rules), volumes_from=list(svc.volumes_from),
        cgroup_parent=svc.cgroup_parent,
        restart=RestartPolicy(svc.restart.condition, svc.restart.max_attempts, svc.restart.delay,
                              svc.restart.window),
        resources=oci_resources(r),
        rlimits={k: (s, h) for k, (s, h) in r.ulimits.items()},
        stop_signal=svc.stop_signal or image_stop_signal, stop_grace_period=svc.stop_grace_period,
        init=bool(svc.init),
        privileged=svc.privileged, cap_add=list(svc.cap_add), cap_drop=list(svc.cap_drop),
        read_only=svc.read_only, sysctls=dict(svc.sysctls), shm_size=r.shm_size,
        oom_score_adj=r.oom_score_adj, no_new_privileges=nnp, seccomp=seccomp, runtime=svc.runtime,
        labels=dict(svc.labels), tty=svc.tty, stdin_open=svc.stdin_open, pull_policy=svc.pull_policy,
        build=full.get("build") if svc.build else None,
        depends_on=_depends_on(svc),
        after=list(svc.dependencies()),
        made_after=_made_after(svc),
        spec=spec,
        definitions=used_definitions(svc, stack),
    )
