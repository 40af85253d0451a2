"""cgroups for pystack containers: one interface, a v1 and a v2 driver, picked per host.

Usage: ``cg = open_cgroup("pystack/<id>"); cg.create(); cg.apply(config["linux"]["resources"]);
cg.add_process(pid)`` … ``cg.stats()``, ``cg.freeze()``, ``cg.destroy()``. See docs/cgroups.md.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.cgroups.convert import (
    cpu_weight_from_shares,
    io_weight_from_blkio_weight,
    quota_for_cpus,
    shares_from_cpu_weight,
)
from orchestrator.cgroups.fs import HOST_FS, CgroupFS
from orchestrator.cgroups.hybrid import HybridCgroup
from orchestrator.cgroups.mode import DEFAULT_ROOT, MOUNTINFO, detect_mode, layout
from orchestrator.cgroups.types import Cgroup, CgroupStats, Mode, SelfJoin
from orchestrator.cgroups.v1 import V1Cgroup
from orchestrator.cgroups.v2 import V2Cgroup
from orchestrator.errors import CgroupError

__all__ = [
    "Cgroup",
    "CgroupError",
    "CgroupStats",
    "HybridCgroup",
    "Mode",
    "SelfJoin",
    "V1Cgroup",
    "V2Cgroup",
    "cpu_weight_from_shares",
    "detect_mode",
    "io_weight_from_blkio_weight",
    "open_cgroup",
    "quota_for_cpus",
    "shares_from_cpu_weight",
]


def open_cgroup(path: str, *, fs_root: Path = DEFAULT_ROOT, own_parents: bool = True,
                mountinfo: Path = MOUNTINFO, fs: CgroupFS = HOST_FS) -> Cgroup:
    """A handle on ``path`` (OCI ``linux.cgroupsPath``, relative to each hierarchy's root).

    Nothing is created until ``create()``; opening is cheap, so ``delete`` in a fresh process can
    open the same path and destroy it. ``own_parents=False`` keeps intermediate directories that
    someone else made (they are never removed while anything is in them either way).
    """
    found = layout(fs_root, mountinfo=mountinfo, fs=fs)
    if found.mode == "unified":
        assert found.unified is not None
        return V2Cgroup(path, found.unified, fs=fs, own_parents=own_parents, enable_in_root=True)
    if not found.v1:
        raise CgroupError(f"no cgroup hierarchy is mounted at {fs_root}")
    v1 = V1Cgroup(path, found.v1, fs=fs, own_parents=own_parents)
    if found.mode == "hybrid" and found.unified is not None:
        v2 = V2Cgroup(path, found.unified, fs=fs, own_parents=own_parents, enable_in_root=False)
        return HybridCgroup(v1, v2)
    return v1
