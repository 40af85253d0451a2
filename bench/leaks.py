"""Before/after snapshots around every figure group: what a run must not leave behind.

Marked items (paths under the bench's work directory, names with ``psbench``/``bench-``) are leaks of the
benchmark or of a tool it drove; other new links or namespaces are reported as foreign, since on a
shared machine other people's tests come and go at the same time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench import netns, procs

MARKS = ("psbench", "bench-")
# the pystack projects the bench brings up; their bridges are named from a hash of root and network
PROJECTS = ("psbench-cli", "psbench-s5", "psbench-kill", "psbench-50", "psbench-mem")


def pystack_bridges(root: Path) -> set[str]:
    """Bridge names pystack would give the bench projects' default networks (so a leftover is ours)."""
    try:
        from orchestrator.network.names import bridge_name
    except ImportError:
        return set()
    names = {bridge_name(str(root), f"{p}_default", salt) for p in PROJECTS for salt in range(4)}
    containers = root / "containers"
    if containers.is_dir():  # pystack names a container's netns after its id (Paths.containers/<id>)
        names |= {d.name for d in containers.iterdir()}
    return names


@dataclass(frozen=True)
class Snapshot:
    mounts: frozenset[str]
    links: frozenset[str]
    netns: frozenset[str]
    cgroups: frozenset[str]
    processes: frozenset[tuple[int, int, str]]


def _mounts() -> frozenset[str]:
    with open("/proc/self/mountinfo") as f:
        return frozenset(line.split()[4] for line in f)


def _cgroups() -> frozenset[str]:
    found = set()
    base = Path("/sys/fs/cgroup")
    for dirpath, dirnames, _ in os.walk(base):
        if len(Path(dirpath).relative_to(base).parts) >= 5:
            dirnames[:] = []
            continue
        for d in dirnames:
            if any(m in d for m in MARKS):
                found.add(os.path.join(dirpath, d))
    return frozenset(found)


def take(workdir: Path, peer_netns: list[str]) -> Snapshot:
    links = {f"host:{x}" for x in netns.links(None)}
    for ns in peer_netns:
        if (netns.NETNS_DIR / ns).exists():
            links |= {f"{ns}:{x}" for x in netns.links(ns)}
    ns_names = frozenset(p.name for p in netns.NETNS_DIR.iterdir()) if netns.NETNS_DIR.is_dir() else frozenset()
    wd = str(workdir)
    wd_env = wd.encode()
    ours = procs.select(lambda p: wd in p.cmdline or procs.environ_has(p.pid, wd_env), host_only=False)
    return Snapshot(_mounts(), frozenset(links), ns_names, _cgroups(),
                    frozenset((p.pid, p.starttime, _short(p.cmdline, wd)) for p in ours))


def _short(cmdline: str, wd: str) -> str:
    """A command line fit for one report line: the work directory abbreviated, the interpreter dropped."""
    words = cmdline.replace(wd, "$WORKDIR").split()
    if len(words) > 1 and "python" in words[0]:
        words = words[1:]
    return " ".join(w.rsplit("/", 1)[-1] if i == 0 else w for i, w in enumerate(words))[:160]


def diff(before: Snapshot, after: Snapshot, workdir: Path, ours: set[str] | None = None
         ) -> tuple[list[str], list[str]]:
    """(leaks, foreign): leaks are ours for sure; foreign are new things that may be someone else's."""
    wd = str(workdir)
    own = {f"host:{x}" for x in (ours or set())}
    leaks: list[str] = []
    foreign: list[str] = []

    def marked(x: str) -> bool:
        return wd in x or x in own or any(m in x for m in MARKS)

    for m in sorted(after.mounts - before.mounts):
        (leaks if marked(m) else foreign).append(f"mount {m}")
    for link in sorted(after.links - before.links):
        (leaks if marked(link) or not link.startswith("host:") else foreign).append(f"link {link}")
    for ns in sorted(after.netns - before.netns):
        (leaks if marked(ns) or ns in (ours or set()) else foreign).append(f"netns {ns}")
    leaks += [f"cgroup {c}" for c in sorted(after.cgroups - before.cgroups)]
    leaks += [f"process {pid} {cmd}" for pid, _, cmd in sorted(after.processes - before.processes)]
    leaks = [x.replace(wd, "$WORKDIR") for x in leaks]
    return leaks, foreign


def clean(before: Snapshot, after: Snapshot, ours: set[str]) -> list[str]:
    """Removes what a group left behind, after it was reported: its new processes (those that name the
    work directory) and the pystack bridges of the bench projects."""
    import signal
    import subprocess

    done = []
    for pid, start, cmd in sorted(after.processes - before.processes):
        p = procs.proc(pid)
        if p is None or p.starttime != start:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            done.append(f"killed {pid} {cmd}")
        except OSError:
            pass
    for ns in sorted((after.netns - before.netns) & ours):
        netns.delete(ns)
        done.append(f"deleted netns {ns}")
    for link in netns.links(None) & ours:
        subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)
        done.append(f"deleted link {link}")
    return done
