"""Snapshots of what a test run can leave behind on the host: mounts, links, netns, cgroups, processes.

The suite takes one snapshot before the first test and one after the last and fails when anything
new is still there. ``PYSTACK_LEAK_CHECK=0`` turns it off for development on a shared machine,
where other people's containers come and go; CI always runs it.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Snapshot:
    mounts: frozenset[str]
    links: frozenset[str]
    netns: frozenset[str]
    cgroups: frozenset[str]
    processes: frozenset[tuple[int, str]]


def _mounts() -> frozenset[str]:
    out = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            out.add(parts[4])
    return frozenset(out)


def _links() -> frozenset[str]:
    try:
        res = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return frozenset()
    names = set()
    for line in res.stdout.splitlines():
        name = line.split(":", 2)[1].strip().split("@")[0]
        names.add(name)
    return frozenset(names)


def _netns() -> frozenset[str]:
    p = Path("/run/netns")
    return frozenset(x.name for x in p.iterdir()) if p.is_dir() else frozenset()


def _cgroups() -> frozenset[str]:
    found = set()
    base = Path("/sys/fs/cgroup")
    for dirpath, dirnames, _ in os.walk(base):
        depth = Path(dirpath).relative_to(base).parts
        if len(depth) >= 5:
            dirnames[:] = []
            continue
        for d in dirnames:
            if "pystack" in d:
                found.add(os.path.join(dirpath, d))
    return frozenset(found)


def _processes() -> frozenset[tuple[int, str]]:
    """Processes that look like ours: pystack monitors and anything inside a container we started."""
    own_mnt = os.readlink("/proc/self/ns/mnt")
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            mnt = os.readlink(f"/proc/{pid}/ns/mnt")
        except OSError:
            continue
        if "pystack" in cmd or (mnt != own_mnt and "pytest" not in cmd):
            out.add((pid, cmd.strip()[:120]))
    return frozenset(out)


def take() -> Snapshot:
    return Snapshot(_mounts(), _links(), _netns(), _cgroups(), _processes())


def diff(before: Snapshot, after: Snapshot) -> list[str]:
    problems = []
    for field in ("mounts", "links", "netns", "cgroups", "processes"):
        new = getattr(after, field) - getattr(before, field)
        if new:
            shown = sorted(str(x) for x in new)[:10]
            problems.append(f"leftover {field}: {', '.join(shown)}")
    return problems
