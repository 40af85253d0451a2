"""Stack-file loading speed: `pystack config -q` against `docker-compose config -q` on the same files.

    python3 bench/spec_load.py [--runs N] [--services N]

Generates a stack of N services (default 1,000) with dependencies, ports, volumes, environment and
healthchecks, plus a 5-service stack, and times whole commands (interpreter start included), each tool
alternated with the other. Prints a JSON list of figures:
{name, unit, pystack: {median, min, max, n}, peers: {docker-compose: {...}}}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml


def generate(count: int) -> dict[str, Any]:
    services: dict[str, Any] = {}
    for i in range(count):
        svc: dict[str, Any] = {
            "image": f"busybox:1.{i % 7}",
            "command": f"sh -c 'sleep {i}'",
            "environment": [f"INDEX={i}", "MODE=bench"],
            "ports": [f"{20000 + i}:80", f"127.0.0.1:{40000 + i}:8080/udp"],
            "volumes": [f"./data/{i}:/data:ro", f"vol{i % 10}:/var/lib/x"],
            "labels": {"bench.index": str(i)},
            "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "timeout": "2s"},
            "restart": "unless-stopped",
            "mem_limit": "64m",
        }
        if i:
            svc["depends_on"] = [f"s{(i - 1) // 2}"] + ([f"s{i - 1}"] if i % 3 == 0 and i > 1 else [])
        services[f"s{i}"] = svc
    return {"services": services, "volumes": {f"vol{j}": {} for j in range(10)}}


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one run; CPU time is what a busy machine
    distorts least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.decode(errors='replace')[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed * 1000, cpu * 1000


def stats(samples: list[float]) -> dict[str, float | int]:
    return {"median": round(statistics.median(samples), 1), "min": round(min(samples), 1),
            "max": round(max(samples), 1), "n": len(samples)}


def pystack_command() -> list[str]:
    script = Path(sys.executable).parent / "pystack"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "orchestrator.cli.main"]


def measure(name: str, directory: Path, runs: int | None) -> list[dict[str, Any]]:
    tools: dict[str, list[str]] = {"pystack": [*pystack_command(), "config", "-q"]}
    compose = shutil.which("docker-compose")
    if compose:
        tools["docker-compose"] = [compose, "config", "-q"]
    samples: dict[str, list[float]] = {tool: [] for tool in tools}
    cpu: dict[str, list[float]] = {tool: [] for tool in tools}
    for tool, cmd in tools.items():  # warm-up: page cache, .pyc files
        try:
            timed(cmd, directory)
        except RuntimeError as exc:
            print(f"warning: {exc}", file=sys.stderr)
            samples.pop(tool)
    def counted(reps: int) -> None:
        for _ in range(reps):
            for tool in list(samples):
                wall, used = timed(tools[tool], directory)
                samples[tool].append(wall)
                cpu[tool].append(used)

    counted(runs or 5)
    if runs is None and any(xs and statistics.median(xs) < 100 for xs in samples.values()):
        counted(5)  # the rule: 10 counted runs for anything under 100 ms
    figures = []
    for label, data in ((name, samples), (f"{name} (CPU time)", cpu)):
        figure: dict[str, Any] = {"name": label, "unit": "ms", "pystack": stats(data["pystack"]), "peers": {}}
        if "docker-compose" in data:
            figure["peers"]["docker-compose"] = stats(data["docker-compose"])
        figures.append(figure)
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=None,
                    help="counted runs (default: 5, or 10 for a figure under 100 ms)")
    ap.add_argument("--services", type=int, default=1000)
    args = ap.parse_args(argv)
    figures = []
    with tempfile.TemporaryDirectory(prefix="pystack-bench-spec-") as tmp:
        big = Path(tmp) / "big"
        small = Path(tmp) / "small"
        for directory, count in ((big, args.services), (small, 5)):
            directory.mkdir()
            (directory / "compose.yaml").write_text(yaml.safe_dump(generate(count), sort_keys=False))
        env_clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        os.environ.clear()
        os.environ.update(env_clean)
        figures += measure(f"config -q, {args.services} services", big, args.runs)
        figures += measure("config -q, 5 services", small, args.runs)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
