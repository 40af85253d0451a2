"""OCI ``linux.resources`` → the cgroup v1 file writes that enforce it, as data (no kernel here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.cgroups.convert import Write, as_int, device_key, entries, hugepage_size, section
from orchestrator.errors import CgroupError

_THROTTLES = {
    "throttleReadBpsDevice": "blkio.throttle.read_bps_device",
    "throttleWriteBpsDevice": "blkio.throttle.write_bps_device",
    "throttleReadIOPSDevice": "blkio.throttle.read_iops_device",
    "throttleWriteIOPSDevice": "blkio.throttle.write_iops_device",
}


def _memory(mem: Mapping[str, Any]) -> list[Write]:
    out: list[Write] = []
    limit = mem.get("limit")
    swap = mem.get("swap")
    if limit is not None:
        as_int(limit, "linux.resources.memory.limit", minimum=-1)
    if swap is not None:
        as_int(swap, "linux.resources.memory.swap", minimum=-1)
        if limit is not None and limit != -1 and swap != -1 and swap < limit:
            raise CgroupError(f"linux.resources.memory.swap: {swap} is below the memory limit {limit}")
    # memsw must stay >= limit at every instant, so the driver orders these two (see V1Cgroup).
    if limit is not None:
        out.append(Write.one("memory", "memory.limit_in_bytes", str(limit)))
    if swap is not None:
        out.append(Write.one("memory", "memory.memsw.limit_in_bytes", str(swap), optional=True))
    if (res := mem.get("reservation")) is not None:
        as_int(res, "linux.resources.memory.reservation", minimum=-1)
        out.append(Write.one("memory", "memory.soft_limit_in_bytes", str(res)))
    if (sw := mem.get("swappiness")) is not None:
        as_int(sw, "linux.resources.memory.swappiness", minimum=0, maximum=100)
        out.append(Write.one("memory", "memory.swappiness", str(sw)))
    if mem.get("disableOOMKiller"):
        out.append(Write.one("memory", "memory.oom_control", "1"))
    return out


def _cpu(cpu: Mapping[str, Any]) -> list[Write]:
    out: list[Write] = []
    if shares := cpu.get("shares"):
        as_int(shares, "linux.resources.cpu.shares", minimum=2, maximum=262_144)
        out.append(Write.one("cpu", "cpu.shares", str(shares)))
    if period := cpu.get("period"):
        as_int(period, "linux.resources.cpu.period", minimum=1000, maximum=1_000_000)
        out.append(Write.one("cpu", "cpu.cfs_period_us", str(period)))
    if (quota := cpu.get("quota")) is not None and quota != 0:
        as_int(quota, "linux.resources.cpu.quota", minimum=-1)
        out.append(Write.one("cpu", "cpu.cfs_quota_us", str(quota if quota > 0 else -1)))
    if (burst := cpu.get("burst")) is not None:
        out.append(Write.one("cpu", "cpu.cfs_burst_us", str(as_int(burst, "cpu.burst", minimum=0)), True))
    if rt_period := cpu.get("realtimePeriod"):
        out.append(Write.one("cpu", "cpu.rt_period_us", str(as_int(rt_period, "cpu.realtimePeriod"))))
    if rt_runtime := cpu.get("realtimeRuntime"):
        out.append(Write.one("cpu", "cpu.rt_runtime_us", str(as_int(rt_runtime, "cpu.realtimeRuntime"))))
    if (idle := cpu.get("idle")) is not None:
        out.append(Write.one("cpu", "cpu.idle", str(as_int(idle, "linux.resources.cpu.idle", minimum=0))))
    for key in ("cpus", "mems"):
        if value := cpu.get(key):
            if not isinstance(value, str):
                raise CgroupError(f"linux.resources.cpu.{key}: expected a list like '0-1,3'")
            out.append(Write.one("cpuset", f"cpuset.{key}", value))
    return out


def _blkio(blk: Mapping[str, Any]) -> list[Write]:
    out: list[Write] = []
    if weight := blk.get("weight"):
        w = str(as_int(weight, "linux.resources.blockIO.weight", minimum=10, maximum=1000))
        out.append(Write("blkio", (("blkio.weight", w), ("blkio.bfq.weight", w)), optional=True))
    if leaf := blk.get("leafWeight"):
        lw = str(as_int(leaf, "linux.resources.blockIO.leafWeight", minimum=10, maximum=1000))
        out.append(Write.one("blkio", "blkio.leaf_weight", lw, optional=True))
    for dev in entries(blk, "weightDevice", "linux.resources.blockIO.weightDevice"):
        key = device_key(dev, "blockIO.weightDevice")
        if dev.get("weight"):
            line = f"{key} {as_int(dev['weight'], 'blockIO.weightDevice.weight', minimum=10, maximum=1000)}"
            choices = (("blkio.weight_device", line), ("blkio.bfq.weight_device", line))
            out.append(Write("blkio", choices, optional=True))
    for oci, file in _THROTTLES.items():
        for dev in entries(blk, oci, f"linux.resources.blockIO.{oci}"):
            rate = as_int(dev.get("rate"), f"blockIO.{oci}.rate", minimum=0)
            out.append(Write.one("blkio", file, f"{device_key(dev, 'blockIO.' + oci)} {rate}"))
    return out


def _devices(resources: Mapping[str, Any]) -> list[Write]:
    out: list[Write] = []
    for rule in entries(resources, "devices", "linux.resources.devices"):
        kind = rule.get("type") or "a"
        if kind not in ("a", "b", "c"):
            raise CgroupError(f"linux.resources.devices.type: {kind!r} is not a, b or c")
        major = "*" if rule.get("major") in (None, -1) else str(as_int(rule["major"], "devices.major"))
        minor = "*" if rule.get("minor") in (None, -1) else str(as_int(rule["minor"], "devices.minor"))
        access = rule.get("access") or "rwm"
        if not isinstance(access, str) or not set(access) <= set("rwm"):
            raise CgroupError(f"linux.resources.devices.access: {access!r} is not made of r, w, m")
        text = "a" if kind == "a" else f"{kind} {major}:{minor} {access}"
        file = "devices.allow" if rule.get("allow") else "devices.deny"
        out.append(Write.one("devices", file, text))
    return out


def plan_v1(resources: Mapping[str, Any]) -> list[Write]:
    """Every write, grouped by controller in an order the kernel accepts."""
    if not isinstance(resources, Mapping):
        raise CgroupError("linux.resources: expected an object")
    out = _devices(resources)
    out += _memory(section(resources, "memory"))
    out += _cpu(section(resources, "cpu"))
    pids = section(resources, "pids")
    if (limit := pids.get("limit")) is not None and limit != 0:
        as_int(limit, "linux.resources.pids.limit")
        out.append(Write.one("pids", "pids.max", str(limit) if limit > 0 else "max"))
    out += _blkio(section(resources, "blockIO"))
    for page in entries(resources, "hugepageLimits", "linux.resources.hugepageLimits"):
        size = hugepage_size(page)
        limit = as_int(page.get("limit"), "hugepageLimits.limit", minimum=0)
        out.append(Write.one("hugetlb", f"hugetlb.{size}.limit_in_bytes", str(limit)))
    return out
