"""OCI ``linux.resources`` → the cgroup v2 file writes that enforce it, as data (no kernel here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.cgroups.convert import (
    Write,
    as_int,
    cpu_max,
    cpu_weight_from_shares,
    device_key,
    entries,
    hugepage_size,
    io_weight_from_blkio_weight,
    section,
    v2_limit,
    v2_swap_max,
)
from orchestrator.errors import CgroupError

_IO_KEYS = {
    "throttleReadBpsDevice": "rbps",
    "throttleWriteBpsDevice": "wbps",
    "throttleReadIOPSDevice": "riops",
    "throttleWriteIOPSDevice": "wiops",
}


def _memory(mem: Mapping[str, Any]) -> list[Write]:
    out: list[Write] = []
    limit = mem.get("limit")
    if limit is not None:
        as_int(limit, "linux.resources.memory.limit", minimum=-1)
        out.append(Write.one("memory", "memory.max", v2_limit(limit)))
    swap = mem.get("swap")
    if swap is not None:
        as_int(swap, "linux.resources.memory.swap", minimum=-1)
    if (swap_max := v2_swap_max(limit, swap)) is not None:
        out.append(Write.one("memory", "memory.swap.max", swap_max, optional=True))
    if (res := mem.get("reservation")) is not None:
        as_int(res, "linux.resources.memory.reservation", minimum=-1)
        out.append(Write.one("memory", "memory.low", v2_limit(res)))
    # swappiness and disableOOMKiller have no cgroup2 file; the driver reports them as not applied.
    return out


def _cpu(cpu: Mapping[str, Any]) -> list[Write]:
    out: list[Write] = []
    if shares := cpu.get("shares"):
        as_int(shares, "linux.resources.cpu.shares", minimum=2, maximum=262_144)
        out.append(Write.one("cpu", "cpu.weight", str(cpu_weight_from_shares(shares))))
    quota, period = cpu.get("quota"), cpu.get("period")
    if quota is not None:
        as_int(quota, "linux.resources.cpu.quota", minimum=-1)
    if period is not None:
        as_int(period, "linux.resources.cpu.period", minimum=1000, maximum=1_000_000)
    if (line := cpu_max(quota, period)) is not None:
        out.append(Write.one("cpu", "cpu.max", line))
    if (burst := cpu.get("burst")) is not None:
        out.append(Write.one("cpu", "cpu.max.burst", str(as_int(burst, "linux.resources.cpu.burst")), True))
    if (idle := cpu.get("idle")) is not None:
        out.append(Write.one("cpu", "cpu.idle", str(as_int(idle, "linux.resources.cpu.idle", minimum=0))))
    for key in ("cpus", "mems"):
        if value := cpu.get(key):
            if not isinstance(value, str):
                raise CgroupError(f"linux.resources.cpu.{key}: expected a list like '0-1,3'")
            out.append(Write.one("cpuset", f"cpuset.{key}", value))
    return out


def _io(blk: Mapping[str, Any]) -> list[Write]:
    out: list[Write] = []
    if weight := blk.get("weight"):
        w = as_int(weight, "linux.resources.blockIO.weight", minimum=10, maximum=1000)
        choices = (("io.bfq.weight", str(w)), ("io.weight", str(io_weight_from_blkio_weight(w))))
        out.append(Write("io", choices, optional=True))
    for dev in entries(blk, "weightDevice", "linux.resources.blockIO.weightDevice"):
        key = device_key(dev, "blockIO.weightDevice")
        if dev.get("weight"):
            w = as_int(dev["weight"], "blockIO.weightDevice.weight", minimum=10, maximum=1000)
            io_w = io_weight_from_blkio_weight(w)
            choices = (("io.bfq.weight", f"{key} {w}"), ("io.weight", f"{key} {io_w}"))
            out.append(Write("io", choices, optional=True))
    per_device: dict[str, list[str]] = {}
    for oci, io_key in _IO_KEYS.items():
        for dev in entries(blk, oci, f"linux.resources.blockIO.{oci}"):
            rate = as_int(dev.get("rate"), f"blockIO.{oci}.rate", minimum=0)
            per_device.setdefault(device_key(dev, "blockIO." + oci), []).append(
                f"{io_key}={rate if rate > 0 else 'max'}"
            )
    for key, fields in per_device.items():
        out.append(Write.one("io", "io.max", f"{key} {' '.join(fields)}"))
    return out


def _unified(resources: Mapping[str, Any]) -> list[Write]:
    out: list[Write] = []
    unified = resources.get("unified") or {}
    if not isinstance(unified, Mapping):
        raise CgroupError("linux.resources.unified: expected an object of file names to values")
    for key, value in unified.items():
        if not isinstance(key, str) or "/" in key or key.startswith(".") or "." not in key:
            raise CgroupError(f"linux.resources.unified: {key!r} is not a cgroup file name")
        if key.startswith("cgroup."):
            raise CgroupError(f"linux.resources.unified: {key!r} is managed by the runtime")
        out.append(Write.one(key.split(".", 1)[0], key, str(value)))
    return out


def plan_v2(resources: Mapping[str, Any]) -> list[Write]:
    """Every write for a cgroup2 leaf; the ``unified`` map comes last so it can override."""
    if not isinstance(resources, Mapping):
        raise CgroupError("linux.resources: expected an object")
    out = _memory(section(resources, "memory"))
    out += _cpu(section(resources, "cpu"))
    pids = section(resources, "pids")
    if (limit := pids.get("limit")) is not None and limit != 0:
        as_int(limit, "linux.resources.pids.limit")
        out.append(Write.one("pids", "pids.max", str(limit) if limit > 0 else "max"))
    out += _io(section(resources, "blockIO"))
    for page in entries(resources, "hugepageLimits", "linux.resources.hugepageLimits"):
        size = hugepage_size(page)
        limit = as_int(page.get("limit"), "hugepageLimits.limit", minimum=0)
        out.append(Write.one("hugetlb", f"hugetlb.{size}.max", str(limit)))
    return out + _unified(resources)


def not_applicable_v2(resources: Mapping[str, Any]) -> list[str]:
    """OCI fields that cgroup2 has no file for (so callers can warn instead of silently dropping)."""
    mem = section(resources, "memory")
    out = []
    if mem.get("swappiness") is not None:
        out.append("memory.swappiness")
    if mem.get("disableOOMKiller"):
        out.append("memory.disableOOMKiller")
    return out
