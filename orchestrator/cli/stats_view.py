"""``stats`` rows as ``docker stats`` (and so Compose's ``stats``) writes them.

The columns and units are docker's: CPU % over the interval between two readings of the cgroup's
CPU time, memory as usage / limit in binary units (the host's memory when the container has no
limit), network I/O of the container's interfaces and block I/O in decimal units. Pure: the
command gathers the readings.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER = ("CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS")


@dataclass(frozen=True)
class Reading:
    """One container's line of ``stats``."""
    id: str
    name: str
    cpu_percent: float
    memory_usage: int
    memory_limit: int  # the host's memory when the container has none
    net_rx: int
    net_tx: int
    block_read: int
    block_write: int
    pids: int


def _scaled(n: float, base: int, units: tuple[str, ...], digits: int) -> str:
    i = 0
    while n >= base and i < len(units) - 1:
        n /= base
        i += 1
    return f"{n:.{digits}g}{units[i]}"


def binary_size(n: float) -> str:
    """docker's BytesSize: four significant digits, 1024-based units."""
    return _scaled(n, 1024, ("B", "KiB", "MiB", "GiB", "TiB", "PiB"), 4)


def decimal_size(n: float) -> str:
    """docker's HumanSizeWithPrecision(n, 3): three significant digits, 1000-based units."""
    return _scaled(n, 1000, ("B", "kB", "MB", "GB", "TB", "PB"), 3)


def fields(r: Reading, *, trunc: bool = True) -> dict[str, str]:
    """The row as docker's ``--format json`` names its fields."""
    mem_pct = 100.0 * r.memory_usage / r.memory_limit if r.memory_limit else 0.0
    return {
        "BlockIO": f"{decimal_size(r.block_read)} / {decimal_size(r.block_write)}",
        "CPUPerc": f"{r.cpu_percent:.2f}%",
        "Container": r.id[:12] if trunc else r.id,
        "ID": r.id[:12] if trunc else r.id,
        "MemPerc": f"{mem_pct:.2f}%",
        "MemUsage": f"{binary_size(r.memory_usage)} / {binary_size(r.memory_limit)}",
        "Name": r.name,
        "NetIO": f"{decimal_size(r.net_rx)} / {decimal_size(r.net_tx)}",
        "PIDs": str(r.pids),
    }


def table(readings: list[Reading], *, trunc: bool = True) -> str:
    rows = [list(HEADER)]
    for r in readings:
        f = fields(r, trunc=trunc)
        rows.append([f["ID"], f["Name"], f["CPUPerc"], f["MemUsage"], f["MemPerc"], f["NetIO"], f["BlockIO"],
                     f["PIDs"]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def net_bytes(dev_text: str) -> tuple[int, int]:
    """Received and sent bytes of every interface but loopback, from ``/proc/PID/net/dev``."""
    rx = tx = 0
    for line in dev_text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        values = counters.split()
        if name.strip() == "lo" or len(values) < 9:
            continue
        rx += int(values[0])
        tx += int(values[8])
    return rx, tx
