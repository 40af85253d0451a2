"""Pure arithmetic between OCI ``linux.resources`` values and cgroup file values.

Kept apart from the drivers so every conversion is unit-tested without a kernel; the formulas are
the ones runc and crun use, so a bundle means the same thing under every runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import CgroupError

# Anything at or above this is the kernel's way of saying "no limit" in v1 (PAGE_COUNTER_MAX * page).
V1_UNLIMITED = 1 << 62
DEFAULT_CFS_PERIOD = 100_000


@dataclass(frozen=True)
class Write:
    """One file write a resource asks for.

    ``choices`` are (file, value) alternatives tried in order; the first file the kernel offers
    wins (io.bfq.weight before io.weight, for instance). ``optional`` writes whose files are all
    missing are skipped and reported, since hosts differ in what they offer (memsw needs swap
    accounting, blkio.weight needs a proportional I/O scheduler).
    """

    controller: str
    choices: tuple[tuple[str, str], ...]
    optional: bool = False

    @staticmethod
    def one(controller: str, file: str, value: str, optional: bool = False) -> Write:
        return Write(controller, ((file, value),), optional)


def as_int(value: Any, what: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A JSON integer from a bundle, or one clear line saying which field is wrong."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise CgroupError(f"{what}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise CgroupError(f"{what}: {value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise CgroupError(f"{what}: {value} is above the maximum {maximum}")
    return value


def section(resources: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = resources.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CgroupError(f"linux.resources.{key}: expected an object")
    return value


def entries(resources: Mapping[str, Any], key: str, what: str) -> list[Mapping[str, Any]]:
    value = resources.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, Mapping) for x in value):
        raise CgroupError(f"{what}: expected a list of objects")
    return list(value)


def cpu_weight_from_shares(shares: int) -> int:
    """cgroup v1 cpu.shares [2, 262144] → cgroup v2 cpu.weight [1, 10000] (runc/crun formula).

    0 means "not set" in OCI and stays 0 so callers can skip the write.
    """
    if shares == 0:
        return 0
    shares = min(max(shares, 2), 262_144)
    return 1 + ((shares - 2) * 9999) // 262_142


def shares_from_cpu_weight(weight: int) -> int:
    """The inverse, for reporting a v2 weight in the v1 unit users write in Compose files."""
    if weight == 0:
        return 0
    weight = min(max(weight, 1), 10_000)
    return 2 + ((weight - 1) * 262_142) // 9999


def io_weight_from_blkio_weight(weight: int) -> int:
    """blkio.weight [10, 1000] → io.weight [1, 10000] (runc's linear map)."""
    if weight == 0:
        return 0
    weight = min(max(weight, 10), 1000)
    return 1 + (weight - 10) * 9999 // 990


def cpu_max(quota: int | None, period: int | None) -> str | None:
    """The v2 ``cpu.max`` line: "QUOTA PERIOD", with "max" for no quota; None when nothing is set."""
    if not quota and not period:
        return None
    text = str(quota) if quota is not None and quota > 0 else "max"
    if period:
        text += f" {period}"
    return text


def quota_for_cpus(cpus: float, period: int = DEFAULT_CFS_PERIOD) -> int:
    """Compose's ``cpus: 0.5`` → a CFS quota for ``period`` (Docker's NanoCPUs conversion)."""
    if cpus <= 0:
        raise CgroupError(f"cpus: {cpus} must be positive")
    return max(1000, round(cpus * period))


def v2_swap_max(limit: int | None, swap: int | None) -> str | None:
    """OCI ``swap`` is memory+swap (v1 memsw); v2 ``memory.swap.max`` counts swap alone."""
    if swap is None:
        return None
    if swap == -1:
        return "max"
    if limit is None or limit == -1:
        raise CgroupError("linux.resources.memory.swap: a memory limit must be set together with swap")
    if swap < limit:
        raise CgroupError(f"linux.resources.memory.swap: {swap} is below the memory limit {limit}")
    return str(swap - limit)


def v2_limit(value: int) -> str:
    return "max" if value < 0 else str(value)


def device_key(entry: Mapping[str, Any], what: str) -> str:
    major = as_int(entry.get("major"), f"{what}.major", minimum=0)
    minor = as_int(entry.get("minor"), f"{what}.minor", minimum=0)
    return f"{major}:{minor}"


def hugepage_size(entry: Mapping[str, Any]) -> str:
    size = entry.get("pageSize")
    if not isinstance(size, str) or not size[:-2].isdigit() or size[-2:] not in ("KB", "MB", "GB"):
        raise CgroupError(f"linux.resources.hugepageLimits.pageSize: bad page size {size!r} (like 2MB, 1GB)")
    return size


def parse_limit(text: str) -> int | None:
    """A limit file's content as a number, None for "max" or v1's near-2^63 "unlimited"."""
    text = text.strip().split()[0] if text.strip() else ""
    if text in ("", "max", "-1"):
        return None
    value = int(text)
    return None if value >= V1_UNLIMITED else value


def parse_io_stat(text: str) -> tuple[int, int]:
    """v2 io.stat → (read bytes, write bytes) summed over devices."""
    read = write = 0
    for line in text.splitlines():
        for field in line.split()[1:]:
            key, _, value = field.partition("=")
            if key == "rbytes":
                read += int(value)
            elif key == "wbytes":
                write += int(value)
    return read, write


def parse_blkio_service_bytes(text: str) -> tuple[int, int]:
    """v1 blkio.*io_service_bytes* ("MAJ:MIN Read N" lines) → (read bytes, write bytes)."""
    read = write = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        if parts[1] == "Read":
            read += int(parts[2])
        elif parts[1] == "Write":
            write += int(parts[2])
    return read, write
