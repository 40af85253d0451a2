"""The cgroup v1 driver: one directory per legacy hierarchy, each named by the same relative path."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from orchestrator.cgroups.convert import Write, parse_blkio_service_bytes, parse_limit
from orchestrator.cgroups.fs import (
    HOST_FS,
    CgroupFS,
    parse_pids,
    read_int,
    read_keyed,
    split_path,
    wait_for,
    warn,
)
from orchestrator.cgroups.killing import signal_all
from orchestrator.cgroups.plan_v1 import plan_v1
from orchestrator.cgroups.types import CgroupStats, SelfJoin
from orchestrator.errors import CgroupError

FREEZE_TIMEOUT = 5.0


class V1Cgroup:
    """``path`` under every v1 controller mounted on this host.

    ``own_parents`` says the intermediate directories of ``path`` are pystack's, so ``destroy``
    removes them too once they are empty (otherwise a "pystack" directory would outlive every
    container in it).
    """

    def __init__(self, path: str, mounts: Mapping[str, Path], *, fs: CgroupFS = HOST_FS,
                 own_parents: bool = True) -> None:
        self.path = path
        self.parts = split_path(path)
        self.fs = fs
        self.own_parents = own_parents
        self.mounts = dict(mounts)
        self.dirs = {ctrl: root.joinpath(*self.parts) for ctrl, root in self.mounts.items()}
        self.skipped: list[str] = []

    # -- shape -------------------------------------------------------------------------------
    def controllers(self) -> set[str]:
        return set(self.dirs)

    def _unique_dirs(self) -> list[Path]:
        """Co-mounted controllers (cpu,cpuacct) share one directory: touch it once."""
        seen: dict[Path, None] = {}
        for d in self.dirs.values():
            seen.setdefault(d, None)
        return list(seen)

    def exists(self) -> bool:
        return any(self.fs.exists(d) for d in self._unique_dirs())

    def create(self) -> None:
        for root in dict.fromkeys(self.mounts.values()):
            self._make(root, is_cpuset=root == self.mounts.get("cpuset"))

    def _make(self, root: Path, *, is_cpuset: bool) -> None:
        """mkdir every level, top-down; cpusets are filled at every level, whoever made it.

        Retried because another container's destroy may prune a shared parent ("pystack")
        between our mkdirs, and a parent made concurrently may not have its cpuset filled yet.
        """
        for attempt in range(5):
            try:
                current = root
                for part in self.parts:
                    parent, current = current, current / part
                    self.fs.mkdir(current)
                    if is_cpuset:
                        self._inherit_cpuset(parent, current)
                return
            except CgroupError:
                if attempt == 4:
                    raise

    def _inherit_cpuset(self, parent: Path, child: Path) -> None:
        """A v1 cpuset with empty cpus/mems refuses tasks; start from the parent's sets."""
        for name in ("cpuset.cpus", "cpuset.mems"):
            if not self.fs.read(child / name).strip():
                self.fs.write(child / name, self.fs.read(parent / name).strip())

    # -- limits ------------------------------------------------------------------------------
    def apply(self, resources: Mapping[str, Any]) -> None:
        if resources.get("unified"):
            raise CgroupError("linux.resources.unified needs cgroup v2; this host runs cgroup v1")
        self.apply_writes(plan_v1(resources))

    def apply_writes(self, writes: Iterable[Write]) -> None:
        writes = list(writes)
        limit = next((w for w in writes if w.choices[0][0] == "memory.limit_in_bytes"), None)
        memsw = next((w for w in writes if w.choices[0][0] == "memory.memsw.limit_in_bytes"), None)
        for w in writes:
            if w is memsw and limit is not None:
                continue
            if w is limit and memsw is not None:
                self._memory_pair(limit, memsw)
                continue
            self._write(w)

    def _memory_pair(self, limit: Write, memsw: Write) -> None:
        """memsw >= limit must hold after every single write: raise memsw first when growing."""
        try:
            self._write(limit)
            self._write(memsw)
        except CgroupError:
            self._write(memsw)
            self._write(limit)

    def _write(self, w: Write) -> None:
        d = self.dirs.get(w.controller)
        if d is None:
            if w.optional:
                self.skipped.append(w.choices[0][0])
                return
            raise CgroupError(f"this host has no cgroup v1 {w.controller} controller (for {w.choices[0][0]})")
        for file, value in w.choices:
            if self.fs.exists(d / file):
                self.fs.write(d / file, value)
                return
        if not w.optional:
            raise CgroupError(f"this kernel does not offer {w.choices[0][0]} in cgroup {d}")
        warn("cgroup %s: no %s on this host; not applied", self.path, w.choices[0][0])
        self.skipped.append(w.choices[0][0])

    # -- processes ---------------------------------------------------------------------------
    def add_process(self, pid: int) -> None:
        for d in self._unique_dirs():
            self.fs.write(d / "cgroup.procs", str(pid))

    def self_join(self) -> SelfJoin:
        return SelfJoin(None, tuple(str(d / "tasks") for d in self._unique_dirs()))

    def procs(self) -> list[int]:
        found: set[int] = set()
        for d in self._unique_dirs():
            if self.fs.exists(d / "cgroup.procs"):
                found.update(parse_pids(self.fs.read(d / "cgroup.procs")))
        return sorted(found)

    def _freezer(self) -> Path | None:
        d = self.dirs.get("freezer")
        return d if d is not None and self.fs.exists(d / "freezer.state") else None

    def freeze(self) -> None:
        d = self._freezer()
        if d is None:
            raise CgroupError(f"cgroup {self.path}: no freezer on this host, cannot pause")
        state = d / "freezer.state"
        self.fs.write(state, "FROZEN")
        try:
            wait_for(lambda: self.fs.read(state).strip() == "FROZEN", timeout=FREEZE_TIMEOUT,
                     what=f"cgroup {self.path} to freeze", retry=lambda: self.fs.write(state, "FROZEN"))
        except CgroupError:
            self.fs.write(state, "THAWED")
            raise

    def thaw(self) -> None:
        d = self._freezer()
        if d is None:
            return
        state = d / "freezer.state"
        self.fs.write(state, "THAWED")
        wait_for(lambda: self.fs.read(state).strip() == "THAWED", timeout=FREEZE_TIMEOUT,
                 what=f"cgroup {self.path} to thaw")

    def frozen(self) -> bool:
        d = self._freezer()
        return d is not None and self.fs.read(d / "freezer.state").strip() == "FROZEN"

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        """Freeze so nothing forks between reading the list and signalling it, then thaw to let it die."""
        can = self._freezer() is not None
        signal_all(self.procs, sig=sig, freeze=self.freeze if can else None, thaw=self.thaw if can else None,
                   what=f"cgroup {self.path}", was_frozen=can and self.frozen())

    def destroy(self) -> None:
        if self.procs():
            self.kill_all(signal.SIGKILL)
        if self.frozen():
            self.thaw()
        for d in self._unique_dirs():
            self._remove(d)

    def remove_if_empty(self) -> bool:
        for leaf in self._unique_dirs():
            if not (self.fs.rmdir(leaf) or not self.fs.exists(leaf)):
                return False  # tasks or children: destroy() reads, kills and waits
            self._prune_parents(leaf)
        return True

    def _remove(self, leaf: Path) -> None:
        removed = False
        for _ in range(100):
            if self.fs.rmdir(leaf) or not self.fs.exists(leaf):
                removed = True
                break
            time.sleep(0.01)  # tasks just killed leave the css a moment later
        if not removed:
            raise CgroupError(f"cannot remove cgroup {leaf}: still busy")
        self._prune_parents(leaf)

    def _prune_parents(self, leaf: Path) -> None:
        if self.own_parents:
            parent = leaf.parent
            for _ in self.parts[:-1]:
                if not self.fs.rmdir(parent):  # busy: another container still lives there
                    break
                parent = parent.parent

    # -- readings ----------------------------------------------------------------------------
    def _file(self, ctrl: str, name: str) -> Path | None:
        d = self.dirs.get(ctrl)
        return d / name if d is not None and self.fs.exists(d / name) else None

    def _limit(self, ctrl: str, name: str) -> int | None:
        f = self._file(ctrl, name)
        return parse_limit(self.fs.read(f)) if f is not None else None

    def oom_kill_count(self) -> int:
        f = self._file("memory", "memory.oom_control")
        return read_keyed(self.fs, f).get("oom_kill", 0) if f is not None else 0

    def stats(self) -> CgroupStats:
        def num(ctrl: str, name: str) -> int:
            f = self._file(ctrl, name)
            return read_int(self.fs, f) if f is not None else 0

        peak = self._file("memory", "memory.max_usage_in_bytes")
        io = (self._file("blkio", "blkio.throttle.io_service_bytes_recursive")
              or self._file("blkio", "blkio.throttle.io_service_bytes"))
        read, write = parse_blkio_service_bytes(self.fs.read(io)) if io is not None else (0, 0)
        return CgroupStats(
            cpu_usage_ns=num("cpuacct", "cpuacct.usage"),
            memory_usage=num("memory", "memory.usage_in_bytes"),
            memory_peak=read_int(self.fs, peak) if peak is not None else None,
            memory_limit=self._limit("memory", "memory.limit_in_bytes"),
            pids_current=num("pids", "pids.current"),
            pids_limit=self._limit("pids", "pids.max"),
            io_read_bytes=read,
            io_write_bytes=write,
            oom_kills=self.oom_kill_count(),
        )
