"""Capability names and numbers (linux/capability.h), and Docker's default set."""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.errors import RuntimeFailure

CAPS: dict[str, int] = {
    name: i
    for i, name in enumerate(
        (
            "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
            "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
            "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
            "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
            "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
            "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
        )
    )
}
LAST_CAP = max(CAPS.values())

# Docker's default capability set (moby's oci/caps/defaults.go): 14 capabilities.
DOCKER_DEFAULT: tuple[str, ...] = tuple(
    "CAP_" + c
    for c in (
        "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
        "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
    )
)
ALL_CAPS: tuple[str, ...] = tuple("CAP_" + c for c in CAPS)


def number(name: str) -> int:
    key = name.upper()
    key = key[4:] if key.startswith("CAP_") else key
    try:
        return CAPS[key]
    except KeyError:
        raise RuntimeFailure(f"unknown capability {name!r}") from None


def mask(names: Iterable[str]) -> int:
    m = 0
    for n in names:
        m |= 1 << number(n)
    return m


def normalize(names: Iterable[str]) -> list[str]:
    """``net_admin``/``NET_ADMIN``/``CAP_NET_ADMIN`` → ``CAP_NET_ADMIN``; ``ALL`` expands."""
    out: list[str] = []
    for n in names:
        if n.upper() == "ALL":
            out.extend(c for c in ALL_CAPS if c not in out)
            continue
        full = "CAP_" + ALL_CAPS[number(n)][4:]
        if full not in out:
            out.append(full)
    return out


def grantable() -> list[str]:
    """Every capability this host lets pystack hand on, in number order: ``privileged``,
    ``cap_add: [ALL]`` and ``exec --privileged``."""
    host = host_bounding()
    return [c for c in ALL_CAPS if c in host]


def host_bounding(status: str = "/proc/self/status") -> frozenset[str]:
    """The capabilities this process may still hand on (its bounding set), by name.

    ``privileged: true`` and ``cap_add: [ALL]`` mean every capability the host can grant, as
    podman reads them: a container engine that itself runs without some (in a container, under a
    restricted root) cannot give them, and asking the kernel for them only fails the start."""
    try:
        with open(status) as f:
            line = next((ln for ln in f if ln.startswith("CapBnd:")), "")
        bits = int(line.split()[1], 16)
    except (OSError, IndexError, ValueError):
        return frozenset(ALL_CAPS)
    return frozenset(name for name in ALL_CAPS if bits >> CAPS[name[4:]] & 1)
