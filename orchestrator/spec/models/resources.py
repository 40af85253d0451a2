"""One resource model from the service keys (``mem_limit``, ``cpus``, ...) and ``deploy.resources``.

Compose lets both spellings coexist; when both are given and disagree it is an error, because
no rule of precedence would match what every user expects.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orchestrator.spec.models.base import Model
from orchestrator.spec.models.units import (
    Invalid,
    kind,
    parse_bool,
    parse_duration,
    parse_float,
    parse_int,
    parse_size,
    scalar_str,
)


class WeightDevice(Model):
    path: str
    weight: int


class ThrottleDevice(Model):
    path: str
    rate: int


class BlkioConfig(Model):
    weight: int | None = None
    weight_device: list[WeightDevice] = Field(default_factory=list)
    device_read_bps: list[ThrottleDevice] = Field(default_factory=list)
    device_write_bps: list[ThrottleDevice] = Field(default_factory=list)
    device_read_iops: list[ThrottleDevice] = Field(default_factory=list)
    device_write_iops: list[ThrottleDevice] = Field(default_factory=list)


class Resources(Model):
    memory_limit: int | None = None
    memory_reservation: int | None = None
    memswap_limit: int | None = None
    mem_swappiness: int | None = None
    cpus: float | None = None
    cpus_reservation: float | None = None
    cpu_shares: int | None = None
    cpu_period: int | None = None
    cpu_quota: int | None = None
    cpu_rt_period: int | None = None
    cpu_rt_runtime: int | None = None
    cpu_count: int | None = None
    cpu_percent: int | None = None
    cpuset: str | None = None
    pids_limit: int | None = None
    blkio: BlkioConfig | None = None
    shm_size: int | None = None
    oom_kill_disable: bool | None = None
    oom_score_adj: int | None = None
    ulimits: dict[str, tuple[int, int]] = Field(default_factory=dict)


# compose key -> (Resources field, parser)
def _micros(value: Any) -> int:
    """cpu_rt_* are microseconds, or a duration string."""
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        return round(parse_duration(value) * 1_000_000)
    return parse_int(value)


SERVICE_RESOURCE_KEYS: dict[str, tuple[str, Any]] = {
    "mem_limit": ("memory_limit", parse_size),
    "mem_reservation": ("memory_reservation", parse_size),
    "memswap_limit": ("memswap_limit", parse_size),
    "mem_swappiness": ("mem_swappiness", parse_int),
    "cpus": ("cpus", parse_float),
    "cpu_shares": ("cpu_shares", parse_int),
    "cpu_period": ("cpu_period", parse_int),
    "cpu_quota": ("cpu_quota", parse_int),
    "cpu_rt_period": ("cpu_rt_period", _micros),
    "cpu_rt_runtime": ("cpu_rt_runtime", _micros),
    "cpu_count": ("cpu_count", parse_int),
    "cpu_percent": ("cpu_percent", parse_int),
    "cpuset": ("cpuset", scalar_str),
    "pids_limit": ("pids_limit", parse_int),
    "shm_size": ("shm_size", parse_size),
    "oom_kill_disable": ("oom_kill_disable", parse_bool),
    "oom_score_adj": ("oom_score_adj", parse_int),
}


def parse_ulimits(value: Any) -> dict[str, tuple[int, int]]:
    if not isinstance(value, dict):
        raise Invalid(f"must be a mapping, not {kind(value)}")
    out: dict[str, tuple[int, int]] = {}
    for name, item in value.items():
        try:
            if isinstance(item, dict):
                extra = {k for k in item if not (isinstance(k, str) and k.startswith("x-"))} - {"soft", "hard"}
                if extra or "soft" not in item or "hard" not in item:
                    raise Invalid(f"ulimit {name} needs exactly soft and hard")
                soft, hard = parse_int(item["soft"], "soft limit"), parse_int(item["hard"], "hard limit")
            else:
                soft = hard = parse_int(item, "limit")
        except Invalid as exc:
            raise Invalid(exc.message, (name, *exc.subpath)) from None
        if soft > hard and hard != -1:
            raise Invalid(f"ulimit {name}: soft limit {soft} is above hard limit {hard}", (name,))
        out[name] = (soft, hard)
    return out


def parse_blkio(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"must be a mapping, not {kind(value)}")
    out = {k: v for k, v in value.items() if not (isinstance(k, str) and k.startswith("x-"))}
    if "weight" in value:
        out["weight"] = parse_int(value["weight"], "weight")
    for key in ("device_read_bps", "device_write_bps"):
        items = value.get(key)
        if isinstance(items, list):
            converted = []
            for i, item in enumerate(items):
                if isinstance(item, dict) and "rate" in item:
                    try:
                        item = {**item, "rate": parse_size(item["rate"])}
                    except Invalid as exc:
                        raise Invalid(exc.message, (key, i, "rate")) from None
                converted.append(item)
            out[key] = converted
    return out


def parse_deploy_resources(value: Any) -> dict[str, Any]:
    """``deploy.resources`` → Resources field values (limits and reservations of cpus/memory/pids)."""
    if not isinstance(value, dict):
        raise Invalid(f"must be a mapping, not {kind(value)}")
    out: dict[str, Any] = {}
    for section in ("limits", "reservations"):
        block = value.get(section)
        if block is None:
            continue
        if not isinstance(block, dict):
            raise Invalid(f"must be a mapping, not {kind(block)}", (section,))
        for key, item in block.items():
            try:
                if key == "cpus":
                    out["cpus" if section == "limits" else "cpus_reservation"] = parse_float(item, "cpus")
                elif key == "memory":
                    out["memory_limit" if section == "limits" else "memory_reservation"] = parse_size(item)
                elif key == "pids" and section == "limits":
                    out["pids_limit"] = parse_int(item, "pids")
                elif key in ("devices", "generic_resources") and section == "reservations":
                    continue
                elif isinstance(key, str) and key.startswith("x-"):
                    continue  # an extension: kept by the service's nested_extensions
                else:
                    raise Invalid(f'unknown key "{key}"')
            except Invalid as exc:
                raise Invalid(exc.message, (section, key)) from None
    for key in value:
        if key not in ("limits", "reservations") and not (isinstance(key, str) and key.startswith("x-")):
            raise Invalid(f'unknown key "{key}"', (key,))
    return out


_DEPLOY_NAMES = {
    "memory_limit": "deploy.resources.limits.memory",
    "memory_reservation": "deploy.resources.reservations.memory",
    "cpus": "deploy.resources.limits.cpus",
    "pids_limit": "deploy.resources.limits.pids",
}


def reconcile_resources(
    service_level: dict[str, Any], deploy_level: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Merge; returns (values, conflicts) where each conflict names both keys."""
    merged = dict(service_level)
    conflicts = []
    for key, value in deploy_level.items():
        if key in merged and merged[key] != value:
            compose_key = next(k for k, (f, _) in SERVICE_RESOURCE_KEYS.items() if f == key)
            conflicts.append(f"{compose_key} ({merged[key]}) conflicts with {_DEPLOY_NAMES.get(key, key)} ({value})")
        merged[key] = value
    return merged, conflicts
