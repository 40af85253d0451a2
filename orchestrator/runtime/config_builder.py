"""A Docker-like default config.json from plain options, so the orchestrator never hand-writes OCI JSON.

Pure except ``write_bundle`` and user-name resolution, which reads the image's /etc/passwd and
/etc/group from the host side through ``openat2(RESOLVE_IN_ROOT)``: never by running or loading
anything from the container.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import RuntimeFailure
from orchestrator.runtime import caps as capnames
from orchestrator.runtime.spec import STANDARD_DEVICE_RULES

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
TINI = "/usr/bin/tini-static"  # static, as Docker's docker-init: the image may have no libc
INIT_PATH = "/sbin/docker-init"


@dataclass
class ContainerOptions:
    """What a container needs from its service, in runtime terms; the builder turns it into an OCI config."""
    args: list[str]
    rootfs: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "/"
    user: str | None = None
    additional_gids: list[int] = field(default_factory=list)
    hostname: str | None = None
    domainname: str | None = None
    terminal: bool = False
    readonly_rootfs: bool = False
    mounts: list[dict[str, Any]] = field(default_factory=list)
    netns: str | None = None  # path to join, None = new empty netns, "host" = the host's
    pid_ns: str | None = None  # path, None = new, "host"
    ipc_ns: str | None = None  # path, None = new, "host"
    uts_ns: str | None = None  # None = new, "host"
    devices: list[dict[str, Any]] = field(default_factory=list)  # OCI linux.devices: nodes made in the container
    device_rules: list[dict[str, Any]] = field(default_factory=list)  # allow rules after the default ones
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    no_new_privileges: bool = True
    sysctls: dict[str, str] = field(default_factory=dict)
    rlimits: dict[str, tuple[int, int]] = field(default_factory=dict)  # "nofile" → (soft, hard)
    resources: dict[str, Any] = field(default_factory=dict)
    cgroups_path: str | None = None
    shm_size: int | None = None
    dev_shm: bool = True  # False: no /dev/shm at all (``ipc: none``)
    init: bool = False
    oom_score_adj: int | None = None
    seccomp: str | dict[str, Any] = "default"
    masked_paths: list[str] | None = None
    readonly_paths: list[str] | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    umask: int | None = None
    # user namespace: (container id, host id, size) ranges; None = the host's user namespace
    uid_map: list[tuple[int, int, int]] | None = None
    gid_map: list[tuple[int, int, int]] | None = None


def _ns(kind: str, value: str | None) -> dict[str, str] | None:
    if value == "host":
        return None
    out = {"type": kind}
    if value:
        out["path"] = value
    return out


def default_mounts(shm_size: int | None, dev_shm: bool = True) -> list[dict[str, Any]]:
    """What every container has at /proc, /sys and in /dev; without ``dev_shm``, no /dev/shm (as
    Docker's ``ipc: none``: the IPC namespace is private and nothing shares memory through files)."""
    shm = f"size={shm_size}" if shm_size else "size=65536k"
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", shm]},
    ]
    return mounts if dev_shm else [m for m in mounts if m["destination"] != "/dev/shm"]


def device_rules(opts: ContainerOptions) -> list[dict[str, Any]]:
    """The devices cgroup rules, as Docker sets them: deny everything, then allow creating any node
    (opening one is what the rules guard), the few devices every container has, and the file's own.
    Without a deny, a container with CAP_MKNOD could make and open any host device. Privileged
    containers may use every device, as with Docker."""
    if opts.privileged:
        return [{"allow": True, "access": "rwm"}]
    rules: list[dict[str, Any]] = [{"allow": False, "access": "rwm"}]
    rules += [{"allow": True, "type": t, "access": "m"} for t in ("c", "b")]
    rules += [dict(r) for r in STANDARD_DEVICE_RULES]
    return rules + list(opts.device_rules)


def capabilities(opts: ContainerOptions) -> list[str]:
    """Docker's default set with the service's drops and adds; ``privileged`` and ``cap_add: [ALL]``
    stand for all the host can grant (:func:`capnames.host_bounding`), a named one is asked for as is."""
    if opts.privileged:
        return capnames.grantable()
    drop = set(capnames.normalize(opts.cap_drop))
    base = list(capnames.DOCKER_DEFAULT) if "ALL" not in [c.upper() for c in opts.cap_drop] else []
    out = [c for c in base if c not in drop]
    if any(c.upper() == "ALL" for c in opts.cap_add):
        out += [c for c in capnames.grantable() if c not in out and c not in drop]
    for c in capnames.normalize(c for c in opts.cap_add if c.upper() != "ALL"):
        if c not in out:
            out.append(c)
    return out


def build_config(opts: ContainerOptions) -> dict[str, Any]:
    uid, gid, extra_gids, home = resolve_user(opts.rootfs, opts.user)
    env = {"PATH": DEFAULT_PATH, **({"HOME": home} if home else {}), **opts.env}
    if opts.terminal and "TERM" not in env:
        env["TERM"] = "xterm"
    caps = capabilities(opts)
    args = list(opts.args)
    mounts = default_mounts(opts.shm_size, opts.dev_shm)
    if opts.init:
        args = [INIT_PATH, "--", *args]
        mounts.append({"destination": INIT_PATH, "type": "bind", "source": TINI, "options": ["bind", "ro"]})
    mounts.extend(opts.mounts)
    user: dict[str, Any] = {"uid": uid, "gid": gid}
    gids = sorted(set(extra_gids + list(opts.additional_gids)))
    if gids:
        user["additionalGids"] = gids
    if opts.umask is not None:
        user["umask"] = opts.umask
    process: dict[str, Any] = {
        "terminal": opts.terminal, "user": user, "args": args,
        "env": [f"{k}={v}" for k, v in env.items()], "cwd": opts.cwd,
        "capabilities": {s: list(caps) for s in ("bounding", "effective", "permitted")},
        "noNewPrivileges": opts.no_new_privileges,
    }
    if opts.rlimits:
        process["rlimits"] = [
            {"type": "RLIMIT_" + n.upper(), "soft": s, "hard": h} for n, (s, h) in opts.rlimits.items()
        ]
    if opts.oom_score_adj is not None:
        process["oomScoreAdj"] = opts.oom_score_adj
    namespaces = [n for n in (
        _ns("pid", opts.pid_ns), _ns("network", opts.netns), _ns("ipc", opts.ipc_ns),
        _ns("uts", opts.uts_ns), {"type": "mount"}, {"type": "cgroup"},
    ) if n is not None]
    linux: dict[str, Any] = {"namespaces": namespaces}
    if opts.uid_map:
        namespaces.append({"type": "user"})
        linux["uidMappings"] = [{"containerID": c, "hostID": h, "size": n} for c, h, n in opts.uid_map]
        linux["gidMappings"] = [{"containerID": c, "hostID": h, "size": n} for c, h, n in opts.gid_map or opts.uid_map]
    linux["resources"] = {**opts.resources, "devices": device_rules(opts)}
    if opts.devices:
        linux["devices"] = [dict(d) for d in opts.devices]
    if opts.cgroups_path:
        # absolute: runc and crun put a relative path under their caller's own cgroup
        linux["cgroupsPath"] = "/" + opts.cgroups_path.lstrip("/")
    if opts.sysctls:
        linux["sysctl"] = dict(opts.sysctls)
    if not opts.privileged:
        linux["maskedPaths"] = list(MASKED_PATHS if opts.masked_paths is None else opts.masked_paths)
        linux["readonlyPaths"] = list(READONLY_PATHS if opts.readonly_paths is None else opts.readonly_paths)
        if opts.seccomp == "default":
            from orchestrator.runtime.seccomp import default_profile

            linux["seccomp"] = default_profile(caps)
        elif isinstance(opts.seccomp, dict):
            from orchestrator.runtime.seccomp import resolve_profile

            linux["seccomp"] = resolve_profile(opts.seccomp, caps)
    cfg: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": str(opts.rootfs), "readonly": opts.readonly_rootfs},
        "mounts": mounts,
        "linux": linux,
    }
    if opts.hostname and opts.uts_ns != "host":
        cfg["hostname"] = opts.hostname
    if opts.domainname and opts.uts_ns != "host":
        cfg["domainname"] = opts.domainname
    if opts.annotations:
        cfg["annotations"] = dict(opts.annotations)
    return cfg


def write_bundle(bundle_dir: Path, config: dict[str, Any]) -> None:
    bundle_dir.mkdir(parents=True, exist_ok=True)
    tmp = bundle_dir / "config.json.tmp"
    tmp.write_text(json.dumps(config, separators=(",", ":")))  # no indent: that takes json's slow pure-Python path
    os.replace(tmp, bundle_dir / "config.json")


def resolve_groups(rootfs: Path, groups: list[str]) -> list[int]:
    """``group_add``: numbers as they are, names looked up in the image's /etc/group (Docker's rule)."""
    table = {g[0]: int(g[2]) for g in (line.split(":") for line in _read_in_root(rootfs, "/etc/group").splitlines())
             if len(g) >= 3 and g[2].isdigit()}
    out: list[int] = []
    for name in groups:
        if name.isdigit():
            out.append(int(name))
        elif name in table:
            out.append(table[name])
        else:
            raise RuntimeFailure(f"group {name!r} not found in the image's /etc/group")
    return out


# -- users ------------------------------------------------------------------------------------------
def _read_in_root(rootfs: Path, path: str) -> str:
    from orchestrator.runtime.inroot import open_in_root

    try:
        root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise RuntimeFailure(f"root filesystem {rootfs}: {exc.strerror}") from None
    try:
        fd = open_in_root(root_fd, path, os.O_RDONLY)
    except OSError:
        return ""
    finally:
        os.close(root_fd)
    with os.fdopen(fd, "rb") as f:
        return f.read(4 << 20).decode("utf-8", "replace")


def resolve_user(rootfs: Path, user: str | None) -> tuple[int, int, list[int], str | None]:
    """"name", "uid", "uid:gid", "name:group" → (uid, gid, supplementary gids, home), Docker's rules."""
    if not user:
        user = "0"
    name, _, group = user.partition(":")
    passwd = [line.split(":") for line in _read_in_root(rootfs, "/etc/passwd").splitlines() if line.count(":") >= 6]
    groups = [line.split(":") for line in _read_in_root(rootfs, "/etc/group").splitlines() if line.count(":") >= 3]
    home: str | None = None
    gid: int | None = None
    if name.isdigit():
        uid = int(name)
        for p in passwd:
            if p[2] == name:
                gid, home, name = int(p[3]), p[5], p[0]
                break
    else:
        for p in passwd:
            if p[0] == name:
                uid, gid, home = int(p[2]), int(p[3]), p[5]
                break
        else:
            raise RuntimeFailure(f"user {name!r} not found in the image's /etc/passwd")
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            for g in groups:
                if g[0] == group:
                    gid = int(g[2])
                    break
            else:
                raise RuntimeFailure(f"group {group!r} not found in the image's /etc/group")
    extra = sorted({int(g[2]) for g in groups if name in g[3].split(",") and g[2].isdigit()})
    return uid, gid if gid is not None else 0, extra, home or "/"
