"""The driver-independent face of a cgroup: what the runtime calls, whatever the host's hierarchy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Mode = Literal["v1", "hybrid", "unified"]


@dataclass(frozen=True)
class CgroupStats:
    """One reading of a cgroup's counters; ``None`` where there is no limit or the host has no counter."""

    cpu_usage_ns: int
    memory_usage: int
    memory_peak: int | None
    memory_limit: int | None
    pids_current: int
    pids_limit: int | None
    io_read_bytes: int
    io_write_bytes: int
    oom_kills: int


@dataclass(frozen=True)
class SelfJoin:
    """How a new, single-threaded process enters a cgroup by itself rather than by the caller's write.

    A pid written to ``cgroup.procs`` moves a whole thread group under the kernel's global
    threadgroup lock, and the first writer after an idle spell waits an RCU grace period for it
    (~13 ms measured on this kind of host, per container). Neither way here takes that lock: a
    child cloned with ``CLONE_INTO_CGROUP`` into ``v2_dir`` is born in its cgroup2 cgroup, and a
    process that writes ``0`` to a v1 ``tasks`` file moves only its own thread.
    """

    v2_dir: str | None  # the cgroup2 directory to be born in (unified and hybrid hosts)
    v1_tasks: tuple[str, ...]  # one ``tasks`` file per v1 hierarchy (v1 and hybrid hosts)


class Cgroup(Protocol):
    """One container's cgroup across every controller the driver manages."""

    path: str

    @property
    def skipped(self) -> list[str]:
        """Limits asked for that this host cannot enforce (logged as warnings; shown by callers)."""
        ...

    def create(self) -> None: ...
    def apply(self, resources: Mapping[str, Any]) -> None: ...
    def add_process(self, pid: int) -> None: ...
    def self_join(self) -> SelfJoin:
        """Where a process about to be born (or a single-threaded one) goes to join by itself."""
        ...

    def procs(self) -> list[int]: ...
    def freeze(self) -> None: ...
    def thaw(self) -> None: ...
    def frozen(self) -> bool: ...
    def stats(self) -> CgroupStats: ...
    def oom_kill_count(self) -> int: ...
    def kill_all(self, sig: int = 9) -> None: ...
    def destroy(self) -> None: ...
    def remove_if_empty(self) -> bool:
        """Remove the cgroup with one rmdir per directory, reading and killing nothing; False (and
        the cgroup, or what is left of it, kept) when a directory is busy. The usual end of a
        container whose processes have all exited; :meth:`destroy` is for the rest."""
        ...

    def exists(self) -> bool: ...
