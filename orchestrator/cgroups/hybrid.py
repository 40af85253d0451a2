"""Hybrid hosts: v1 hierarchies for the controllers, plus membership in the cgroup2 mount.

Joining the cgroup2 tree as well (as runc and crun do) gives the container a v2 cgroup for the
controllers the host put there (hugetlb on some hosts), a real v2 freezer and ``cgroup.kill``
when the legacy freezer is missing, and a cgroup namespace that looks right from inside.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from typing import Any

from orchestrator.cgroups.plan_v1 import plan_v1
from orchestrator.cgroups.plan_v2 import plan_v2
from orchestrator.cgroups.types import CgroupStats, SelfJoin
from orchestrator.cgroups.v1 import V1Cgroup
from orchestrator.cgroups.v2 import V2Cgroup
from orchestrator.errors import CgroupError


class HybridCgroup:
    """Each controller goes to the hierarchy that has it; v1 wins where both do."""

    def __init__(self, v1: V1Cgroup, v2: V2Cgroup) -> None:
        self.path = v1.path
        self.v1 = v1
        self.v2 = v2

    @property
    def skipped(self) -> list[str]:
        return self.v1.skipped + self.v2.skipped

    def create(self) -> None:
        self.v1.create()
        self.v2.create()

    def exists(self) -> bool:
        return self.v1.exists() or self.v2.exists()

    def apply(self, resources: Mapping[str, Any]) -> None:
        on_v1 = self.v1.controllers()
        on_v2 = self.v2.controllers() - on_v1
        unified = resources.get("unified") or {}
        if isinstance(unified, Mapping):
            for key in unified:
                ctrl = str(key).split(".", 1)[0]
                if ctrl not in on_v2:
                    raise CgroupError(
                        f"linux.resources.unified.{key}: this host's cgroup2 tree has no {ctrl} controller"
                    )
        v2_writes = [w for w in plan_v2(resources) if w.controller in on_v2]
        v2_ctrls = {w.controller for w in v2_writes}
        self.v1.apply_writes(w for w in plan_v1(resources) if w.controller not in v2_ctrls)
        self.v2.apply_writes(v2_writes)

    def add_process(self, pid: int) -> None:
        self.v1.add_process(pid)
        self.v2.add_process(pid)

    def self_join(self) -> SelfJoin:
        return SelfJoin(self.v2.self_join().v2_dir, self.v1.self_join().v1_tasks)

    def procs(self) -> list[int]:
        return sorted(set(self.v1.procs()) | set(self.v2.procs()))

    def _freezer(self) -> V1Cgroup | V2Cgroup:
        return self.v1 if "freezer" in self.v1.controllers() or not self.v2.can_freeze() else self.v2

    def freeze(self) -> None:
        self._freezer().freeze()

    def thaw(self) -> None:
        self._freezer().thaw()

    def frozen(self) -> bool:
        return self._freezer().frozen()

    def stats(self) -> CgroupStats:
        return self.v1.stats()

    def oom_kill_count(self) -> int:
        return self.v1.oom_kill_count()

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        # v1 first: its freeze/signal/thaw loop ends thawed, and a task the v1 freezer holds
        # would not die of the v2 cgroup.kill either. Then v2 for anything that joined only there.
        self.v1.kill_all(sig)
        if sig == signal.SIGKILL and self.v2.exists():
            self.v2.kill_all(sig)

    def remove_if_empty(self) -> bool:
        return self.v1.remove_if_empty() and self.v2.remove_if_empty()

    def destroy(self) -> None:
        if self.procs():
            self.kill_all(signal.SIGKILL)
        self.v1.destroy()
        self.v2.destroy()
