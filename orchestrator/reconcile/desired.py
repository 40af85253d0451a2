"""What one service asks of each of its containers, as plain values the lifecycle code consumes.

The pydantic ``Service`` model is translated here, once, into :class:`ServicePlan`; nothing below
this module knows the stack-file models. That keeps the kernel-facing code independent of how
the file was written, and lets tests build a ``ServicePlan`` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.reconcile.health_state import HealthConfig
from orchestrator.reconcile.policy import RestartPolicy


@dataclass(frozen=True)
class PortPlan:
    """A published port of a service, before a host port is picked for each of its containers."""
    target: int
    published: int | None
    host_ip: str
    protocol: str
    published_max: int | None = None  # ``7000-7010:80``: the first free port of published..published_max


@dataclass(frozen=True)
class MountPlan:
    """A service's mount resolved from the stack file: what the runtime config needs, with no spec model left."""
    type: str  # bind | volume | tmpfs
    source: str | None
    target: str
    read_only: bool = False
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None
    propagation: str | None = None
    create_host_path: bool = True
    nocopy: bool = False
    # A named volume of the local driver with ``type: none``, ``o: bind``: the host directory it
    # binds, mounted in its place (spec.volume_driver).
    device: str | None = None
    # One with ``type: tmpfs``: the options of the tmpfs mounted over its directory while in use.
    volume_tmpfs: tuple[str, ...] | None = None
    external: bool = False  # a named volume declared ``external``: it must exist, it is never made


@dataclass(frozen=True)
class FilePlan:
    """A secret or config a service mounts, resolved from the stack file (see :mod:`.secrets`).

    Its content comes from the host file ``file``, or is ``content`` (an ``environment:`` source's
    value or a config's inline ``content:``; None when the variable is not set). ``digest`` stands
    for the content in the config hash and the recorded spec, so that the value itself is kept
    nowhere but in the file pystack writes for the container.
    """
    kind: str  # secret | config
    name: str  # its key under the top-level secrets: or configs:
    target: str  # absolute path in the container
    file: str | None = None
    environment: str | None = None
    content: str | None = field(default=None, repr=False)
    uid: int | None = None
    gid: int | None = None
    mode: int = 0o444
    digest: str = ""


@dataclass(frozen=True)
class DevicePlan:
    """A host device the container gets: its node at ``target`` and a cgroup rule with ``permissions``."""
    source: str
    target: str
    permissions: str = "rwm"


@dataclass(frozen=True)
class NetPlan:
    """A service's attachment to one network, resolved to the network's full name."""
    network: str  # full name, e.g. shop_default
    key: str  # the name used in the stack file
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    mac_address: str | None = None
    priority: int = 0
    gw_priority: int = 0


@dataclass
class ServicePlan:
    """Everything the reconciler needs to create a service's containers, resolved once from the stack file."""
    project: str
    service: str
    image: str
    config_hash: str
    scale: int = 1
    container_name: str | None = None
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    ports: list[PortPlan] = field(default_factory=list)
    mounts: list[MountPlan] = field(default_factory=list)
    files: list[FilePlan] = field(default_factory=list)  # secrets and configs, mounted read-only
    networks: list[NetPlan] = field(default_factory=list)
    network_mode: str | None = None  # None = bridge networks; host, none, service:x, container:x
    links: dict[str, str] = field(default_factory=dict)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_opt: list[str] = field(default_factory=list)
    extra_hosts: list[tuple[str, str]] = field(default_factory=list)
    ipc: str | None = None  # None = a namespace of its own; host, shareable, private, none, service:x, container:x
    pid: str | None = None  # None = a namespace of its own; host, service:x, container:x
    uts: str | None = None  # None = a namespace of its own; host
    group_add: list[str] = field(default_factory=list)  # names (the image's /etc/group) or numbers
    devices: list[DevicePlan] = field(default_factory=list)
    device_cgroup_rules: list[str] = field(default_factory=list)  # "c 1:3 rwm"
    volumes_from: list[str] = field(default_factory=list)  # service[:ro|rw] or container:name[:ro|rw]
    cgroup_parent: str | None = None
    healthcheck: HealthConfig | None = None
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    resources: dict[str, Any] = field(default_factory=dict)  # OCI linux.resources
    rlimits: dict[str, tuple[int, int]] = field(default_factory=dict)  # nofile -> (soft, hard)
    stop_signal: str | None = None
    stop_grace_period: float = 10.0
    init: bool = False
    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    read_only: bool = False
    sysctls: dict[str, str] = field(default_factory=dict)
    shm_size: int | None = None
    shm_shared: bool = False  # others may join its IPC namespace: its /dev/shm lives on the host (reconcile.shm)
    oom_score_adj: int | None = None
    no_new_privileges: bool = False
    seccomp: str | dict[str, Any] = "default"  # or a loaded profile (security_opt seccomp=FILE)
    runtime: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # A one-off container (run) answers to its own name only, unless run --use-aliases gives it the
    # service's name and aliases too, as in Compose: other containers' lookups of the service never
    # reach a one-off by surprise.
    use_aliases: bool = False
    tty: bool = False  # a pty of its own, made and logged by its monitor (runtime.monitor)
    stdin_open: bool = False
    pull_policy: str | None = None
    build: dict[str, Any] | None = None
    depends_on: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> condition, required, restart
    after: list[str] = field(default_factory=list)  # every service this one starts after (graph edges)
    made_after: list[str] = field(default_factory=list)  # whose containers must exist before this one's
    spec: dict[str, Any] = field(default_factory=dict)  # the normalized service, for change reasons
    # the top-level definitions it uses, kept with its containers for ``alpha generate`` only
    definitions: dict[str, Any] = field(default_factory=dict)
    pre_start: list[PreStartPlan] = field(default_factory=list)  # run before its new containers start

    def container_name_for(self, number: int) -> str:
        if self.container_name:
            return self.container_name
        from orchestrator import naming

        return naming.container_name(self.project, self.service, number)


@dataclass
class PreStartPlan:
    """One ``pre_start`` hook: the one-shot container it runs (the service's plan completed by the
    hook's own keys) and whether it runs for each new container or once for the service."""
    index: int
    per_replica: bool
    plan: ServicePlan


@dataclass(frozen=True)
class RunInfo:
    """What the supervisor and later commands need of a container, stored with its record.

    Kept apart from the service's normalized JSON so that the supervisor never imports the
    stack-file models (it stays small) and so values keep their units (seconds, not "10s").
    """

    stop_signal: str | None = None
    stop_grace_period: float = 10.0
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    healthcheck: HealthConfig | None = None
    network_mode: str | None = None
    log_max_size: int | None = None
    log_max_files: int = 1
    runtime: str | None = None
    open_stdin: bool = False  # stdin_open, or run's -i: restarts keep the process's input open too

    def to_json(self) -> dict[str, Any]:
        hc = self.healthcheck
        return {
            "stop_signal": self.stop_signal,
            "stop_grace_period": self.stop_grace_period,
            "restart": {"condition": self.restart.condition, "max_attempts": self.restart.max_attempts,
                        "delay": self.restart.delay, "window": self.restart.window},
            "healthcheck": None if hc is None else {
                "test": list(hc.test), "interval": hc.interval, "timeout": hc.timeout, "retries": hc.retries,
                "start_period": hc.start_period, "start_interval": hc.start_interval},
            "network_mode": self.network_mode,
            "log_max_size": self.log_max_size,
            "log_max_files": self.log_max_files,
            "runtime": self.runtime,
            "open_stdin": self.open_stdin,
        }

    @classmethod
    def from_record_spec(cls, spec: dict[str, Any]) -> RunInfo:
        d = spec.get("run") or {}
        r = d.get("restart") or {}
        hc = d.get("healthcheck")
        return cls(
            stop_signal=d.get("stop_signal"),
            stop_grace_period=float(d.get("stop_grace_period", 10.0)),
            restart=RestartPolicy(r.get("condition", "no"), r.get("max_attempts"), r.get("delay"), r.get("window")),
            healthcheck=None if not hc else HealthConfig(
                tuple(hc["test"]), hc["interval"], hc["timeout"], hc["retries"], hc["start_period"],
                hc["start_interval"]),
            network_mode=d.get("network_mode"),
            log_max_size=d.get("log_max_size"),
            log_max_files=int(d.get("log_max_files") or 1),
            runtime=d.get("runtime"),
            open_stdin=bool(d.get("open_stdin", False)),
        )


def run_info(sp: ServicePlan, log_max_size: int | None, log_max_files: int) -> RunInfo:
    return RunInfo(sp.stop_signal, sp.stop_grace_period, sp.restart, sp.healthcheck, sp.network_mode,
                   log_max_size, log_max_files, sp.runtime, sp.stdin_open)


def record_spec(sp: ServicePlan, info: RunInfo) -> dict[str, Any]:
    out = {"service": sp.spec, "run": info.to_json()}
    if sp.definitions:
        out["definitions"] = sp.definitions
    return out
