"""The cgroup v2 driver: one directory in the unified hierarchy, controllers enabled from the top down."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from orchestrator.cgroups.convert import Write, parse_io_stat, parse_limit
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
from orchestrator.cgroups.killing import EMPTY_TIMEOUT, signal_all
from orchestrator.cgroups.plan_v2 import not_applicable_v2, plan_v2
from orchestrator.cgroups.types import CgroupStats, SelfJoin
from orchestrator.errors import CgroupError

FREEZE_TIMEOUT = 5.0


class V2Cgroup:
    """``path`` under a cgroup2 mount.

    ``enable_in_root``: write the root's ``cgroup.subtree_control`` when a controller we need is
    not delegated yet. A unified host needs that (runc and crun do it); in hybrid mode the cgroup2
    root belongs to the host and we only use what it already delegates.
    """

    def __init__(self, path: str, root: Path, *, fs: CgroupFS = HOST_FS, own_parents: bool = True,
                 enable_in_root: bool = True) -> None:
        self.path = path
        self.parts = split_path(path)
        self.root = root
        self.dir = root.joinpath(*self.parts)
        self.fs = fs
        self.own_parents = own_parents
        self.enable_in_root = enable_in_root
        self.skipped: list[str] = []

    def _controllers_of(self, d: Path) -> set[str]:
        f = d / "cgroup.controllers"
        return set(self.fs.read(f).split()) if self.fs.exists(f) else set()

    def controllers(self) -> set[str]:
        """Controllers this cgroup can use (its own cgroup.controllers once created, else the root's)."""
        if self.fs.exists(self.dir / "cgroup.controllers"):
            return self._controllers_of(self.dir)
        top = self._controllers_of(self.root)
        if self.enable_in_root:
            return top
        return top & set(self.fs.read(self.root / "cgroup.subtree_control").split())

    def exists(self) -> bool:
        return self.fs.exists(self.dir)

    def create(self) -> None:
        for attempt in range(5):
            try:
                self._make()
                return
            except CgroupError:
                # A concurrent destroy may prune a shared parent between our mkdirs: retry.
                if attempt == 4:
                    raise

    def _make(self) -> None:
        wanted = self._controllers_of(self.root)
        if self.enable_in_root:
            self._delegate(self.root, wanted)
        current = self.root
        for i, part in enumerate(self.parts):
            current = current / part
            self.fs.mkdir(current)
            if i < len(self.parts) - 1:
                self._delegate(current, wanted)

    def _delegate(self, d: Path, wanted: set[str]) -> None:
        """Enable in ``d``'s children every wanted controller ``d`` has and does not pass on yet."""
        have = self._controllers_of(d)
        enabled = set(self.fs.read(d / "cgroup.subtree_control").split())
        missing = sorted((wanted & have) - enabled)
        if missing:
            self.fs.write(d / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))

    # -- limits ------------------------------------------------------------------------------
    def apply(self, resources: Mapping[str, Any]) -> None:
        for name in not_applicable_v2(resources):
            warn("cgroup %s: %s has no cgroup v2 equivalent; not applied", self.path, name)
            self.skipped.append(name)
        self.apply_writes(plan_v2(resources))
        rules = resources.get("devices")
        if rules:
            from orchestrator.cgroups.device_filter import program

            if not isinstance(rules, list):
                raise CgroupError("linux.resources.devices: expected a list")
            self.fs.attach_device_filter(self.dir, program(rules))

    def apply_writes(self, writes: Iterable[Write]) -> None:
        have = self.controllers()
        for w in writes:
            for file, value in w.choices:
                if self.fs.exists(self.dir / file):
                    self.fs.write(self.dir / file, value)
                    break
            else:
                if w.optional:
                    warn("cgroup %s: no %s here; not applied", self.path, w.choices[0][0])
                    self.skipped.append(w.choices[0][0])
                elif w.controller not in have:
                    raise CgroupError(
                        f"cgroup v2 controller {w.controller!r} is not available to {self.dir} "
                        f"(needed for {w.choices[0][0]})"
                    )
                else:
                    raise CgroupError(f"this kernel does not offer {w.choices[0][0]} in cgroup {self.dir}")

    # -- processes ---------------------------------------------------------------------------
    def add_process(self, pid: int) -> None:
        self.fs.write(self.dir / "cgroup.procs", str(pid))

    def self_join(self) -> SelfJoin:
        return SelfJoin(str(self.dir), ())

    def procs(self) -> list[int]:
        f = self.dir / "cgroup.procs"
        return sorted(parse_pids(self.fs.read(f))) if self.fs.exists(f) else []

    def _events(self) -> dict[str, int]:
        return read_keyed(self.fs, self.dir / "cgroup.events")

    def can_freeze(self) -> bool:
        return self.fs.exists(self.dir / "cgroup.freeze")

    def freeze(self) -> None:
        if not self.can_freeze():
            raise CgroupError(f"cgroup {self.path}: this kernel has no cgroup.freeze, cannot pause")
        self.fs.write(self.dir / "cgroup.freeze", "1")
        try:
            wait_for(self.frozen, timeout=FREEZE_TIMEOUT, what=f"cgroup {self.path} to freeze")
        except CgroupError:
            self.fs.write(self.dir / "cgroup.freeze", "0")
            raise

    def thaw(self) -> None:
        if not self.can_freeze():
            return
        self.fs.write(self.dir / "cgroup.freeze", "0")
        wait_for(lambda: not self.frozen(), timeout=FREEZE_TIMEOUT, what=f"cgroup {self.path} to thaw")

    def frozen(self) -> bool:
        return self._events().get("frozen", 0) == 1

    def can_kill(self) -> bool:
        return self.fs.exists(self.dir / "cgroup.kill")

    def _empty(self) -> bool:
        events = self._events()
        if "populated" in events:
            return events["populated"] == 0
        return not self.procs()

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        """cgroup.kill (5.14+) when it exists and SIGKILL is asked; else freeze, signal, thaw."""
        if sig == signal.SIGKILL and self.can_kill():
            if not self._empty():
                self.fs.write(self.dir / "cgroup.kill", "1")
                wait_for(self._empty, timeout=EMPTY_TIMEOUT, what=f"cgroup {self.path} to empty")
            return
        can = self.can_freeze()
        signal_all(self.procs, sig=sig, freeze=self.freeze if can else None, thaw=self.thaw if can else None,
                   what=f"cgroup {self.path}", was_frozen=can and self.frozen())

    def destroy(self) -> None:
        if not self.exists():
            return
        if not self._empty():
            self.kill_all(signal.SIGKILL)
        if self.frozen():
            self.thaw()
        for _ in range(100):
            if self.fs.rmdir(self.dir) or not self.fs.exists(self.dir):
                break
            time.sleep(0.01)
        else:
            raise CgroupError(f"cannot remove cgroup {self.dir}: still busy")
        self._prune_parents()

    def remove_if_empty(self) -> bool:
        if not (self.fs.rmdir(self.dir) or not self.fs.exists(self.dir)):
            return False  # tasks or children: destroy() reads, kills and waits
        self._prune_parents()
        return True

    def _prune_parents(self) -> None:
        if self.own_parents:
            parent = self.dir.parent
            for _ in self.parts[:-1]:
                if not self.fs.rmdir(parent):
                    break
                parent = parent.parent

    # -- readings ----------------------------------------------------------------------------
    def oom_kill_count(self) -> int:
        return read_keyed(self.fs, self.dir / "memory.events").get("oom_kill", 0)

    def _limit(self, name: str) -> int | None:
        f = self.dir / name
        return parse_limit(self.fs.read(f)) if self.fs.exists(f) else None

    def stats(self) -> CgroupStats:
        io = self.dir / "io.stat"
        read, write = parse_io_stat(self.fs.read(io)) if self.fs.exists(io) else (0, 0)
        peak = self.dir / "memory.peak"
        return CgroupStats(
            cpu_usage_ns=read_keyed(self.fs, self.dir / "cpu.stat").get("usage_usec", 0) * 1000,
            memory_usage=read_int(self.fs, self.dir / "memory.current"),
            memory_peak=read_int(self.fs, peak) if self.fs.exists(peak) else None,
            memory_limit=self._limit("memory.max"),
            pids_current=read_int(self.fs, self.dir / "pids.current"),
            pids_limit=self._limit("pids.max"),
            io_read_bytes=read,
            io_write_bytes=write,
            oom_kills=self.oom_kill_count(),
        )
