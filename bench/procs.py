"""Processes seen through /proc: who belongs to which tool, their USS/PSS and CPU time, and reaping orphans.

Tools that daemonize (containerd-shim, conmon, pystack's supervisor) leave orphans that this machine's
PID 1 does not reap; the bench makes itself a child subreaper so they are reparented to it, and reaps
them between measurements (never a child that ``subprocess`` is still waiting for).
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST_PIDNS = os.readlink("/proc/self/ns/pid")  # the bench runs in the host's PID namespace; /proc/1 may be hidden

_own_children: set[int] = set()


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except OSError:
        return False


def keep_child(pid: int) -> None:
    """Marks a long-lived child (dockerd, a helper) that its owner will wait for itself."""
    _own_children.add(pid)


def reap_orphans() -> int:
    """Collects zombies reparented to the bench; returns how many."""
    me = os.getpid()
    count = 0
    for proc in scan():
        if proc.ppid == me and proc.state == "Z" and proc.pid not in _own_children:
            try:
                os.waitpid(proc.pid, os.WNOHANG)
                count += 1
            except ChildProcessError:
                pass
    return count


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str
    comm: str
    cmdline: str
    pidns: str
    starttime: int

    @property
    def in_host_pidns(self) -> bool:
        return self.pidns == HOST_PIDNS


def _read_stat(pid: int) -> tuple[str, str, int, int] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    lpar, rpar = raw.find("("), raw.rfind(")")
    comm = raw[lpar + 1:rpar]
    fields = raw[rpar + 2:].split()
    return comm, fields[0], int(fields[1]), int(fields[19])


def proc(pid: int) -> Proc | None:
    st = _read_stat(pid)
    if st is None:
        return None
    comm, state, ppid, start = st
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        pidns = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        cmd, pidns = "", ""
    return Proc(pid, ppid, state, comm, cmd, pidns, start)


def scan() -> list[Proc]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            p = proc(int(entry))
            if p is not None:
                out.append(p)
    return out


def environ_has(pid: int, needle: bytes) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def descendants(procs: Iterable[Proc], roots: set[int]) -> set[int]:
    """``roots`` and every process below them."""
    children: dict[int, list[int]] = {}
    for p in procs:
        children.setdefault(p.ppid, []).append(p.pid)
    seen = set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(children.get(pid, []))
    return seen


def select(match: Callable[[Proc], bool], with_descendants: bool = True, host_only: bool = True) -> list[Proc]:
    """Processes matching ``match`` (and their descendants), alive, optionally only outside containers."""
    procs = scan()
    roots = {p.pid for p in procs if match(p)}
    pids = descendants(procs, roots) if with_descendants else roots
    me = os.getpid()
    return [p for p in procs if p.pid in pids and p.pid != me and p.state != "Z"
            and (not host_only or p.in_host_pidns)]


def smaps_rollup(pid: int) -> tuple[int, int, int] | None:
    """(USS, PSS, RSS) in KiB from /proc/PID/smaps_rollup; None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    vals: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
            vals[parts[0][:-1]] = int(parts[1])
    uss = vals.get("Private_Clean", 0) + vals.get("Private_Dirty", 0) + vals.get("Private_Hugetlb", 0)
    return uss, vals.get("Pss", 0), vals.get("Rss", 0)


def cpu_seconds(pid: int) -> float | None:
    """utime+stime of the process plus what its reaped children used (health checks, exec'd helpers)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from the first line of /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def busy_fraction(window: float) -> float:
    busy0, total0 = _cpu_times()
    time.sleep(window)
    busy1, total1 = _cpu_times()
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_quiet(limit: float = 0.15, window: float = 0.5, cap: float = 20.0) -> float | None:
    """Waits until the machine's CPUs are busy less than ``limit`` over one ``window`` (what an earlier
    step set going, such as a daemon finishing its start-up, would otherwise weigh on the first runs of
    the next figure only). Returns the busy fraction seen last when ``cap`` seconds were not enough."""
    deadline = time.monotonic() + cap
    while True:
        busy = busy_fraction(window)
        if busy < limit:
            return None
        if time.monotonic() > deadline:
            return busy
