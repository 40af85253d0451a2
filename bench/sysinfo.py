"""What machine the figures come from, and which version of every tool produced them."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def cgroup_mode() -> str:
    fs = Path("/sys/fs/cgroup")
    if (fs / "cgroup.controllers").exists():
        return "v2 (unified)"
    if (fs / "unified" / "cgroup.controllers").exists():
        return "v1 hybrid (cgroup2 at /sys/fs/cgroup/unified)"
    return "v1"


def _meminfo_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                return f"{kib / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _distro() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "?"


def machine() -> dict[str, str | int]:
    return {
        "cores": os.cpu_count() or 0,
        "cpu": _cpu_model(),
        "memory": _meminfo_total(),
        "kernel": platform.release(),
        "os": _distro(),
        "cgroup": cgroup_mode(),
        "python": platform.python_version(),
    }


def version_of(argv: list[str], env: dict[str, str] | None = None) -> str:
    """The first non-empty line a ``--version`` style command prints, or why there is none."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=20, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc.__class__.__name__})"
    for line in (res.stdout + "\n" + res.stderr).splitlines():
        if line.strip():
            return line.strip()[:120]
    return f"unavailable (exit {res.returncode})"
