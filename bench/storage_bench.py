"""Layer unpack throughput beside GNU ``tar -x``, and the time of an all-cache-hit rebuild.

    python3 bench/storage_bench.py [--runs N] [--mb N] [--files N] [--disk]

* unpack: one synthetic layer (many small files plus a few large ones, half compressible), gzip
  and plain, unpacked by ``unpack_layer`` (in-process: the import is paid once, as in the store)
  and by ``tar -x`` (``-z`` for gzip) into fresh directories, runs alternating after a warm-up
  pair. By default both write into a tmpfs (/dev/shm): that measures the extractors (header parsing,
  decompression, the syscalls per entry) and not this host's shared virtual disk, whose writeback
  made the on-disk figure swing by 2x between runs and cost 100 s of bench time in ``sync``.
  ``--disk`` unpacks under the temporary directory instead, each run started after a ``sync`` so
  that no run pays for the writeback of the one before.
* build cache hit: a five-step Dockerfile over busybox built once, then rebuilt with every step
  cached; timed in-process from ``build_image`` call to the returned image.
Prints a JSON list of figures {name, unit, pystack:{median,min,max,n}, peers:{tar:{...}}}. Needs
root (the layer keeps ownership and device nodes; the build mounts overlays). Everything it makes
lives in one temporary directory that is removed before it exits.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def stats(xs: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(xs), 4), "min": round(min(xs), 4), "max": round(max(xs), 4),
            "n": len(xs)}


def make_layer(out: Path, total_mb: int, small_files: int) -> int:
    """A layer tar: ``small_files`` files of 1-8 KiB in nested dirs plus large files up to ``total_mb``."""
    rnd = os.urandom(1 << 20)
    text = (b"pystack layer benchmark line of fairly compressible text\n" * 20000)[: 1 << 20]
    size = 0
    names = sorted((f"usr/lib/pkg{i % 50:02d}/mod{i // 50:03d}", i) for i in range(small_files))
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        made: set[str] = set()
        for d, i in names:  # like a tar of a real tree: each directory before its files, files grouped
            parts = d.split("/")
            for k in range(1, len(parts) + 1):
                sub = "/".join(parts[:k])
                if sub not in made:
                    made.add(sub)
                    ti = tarfile.TarInfo(sub)
                    ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1_600_000_000
                    tf.addfile(ti)
            ti = tarfile.TarInfo(f"{d}/file{i}.py")
            n = 1024 * (1 + i % 8)
            data = (text if i % 2 else rnd)[(i * 977) % 4096:][:n]
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_600_000_000
            tf.addfile(ti, io.BytesIO(data))
            size += len(data)
        big = 0
        while size < total_mb << 20:
            chunk = (rnd if big % 2 else text) * 4
            ti = tarfile.TarInfo(f"opt/blob{big}.bin")
            ti.size, ti.mode, ti.mtime = len(chunk), 0o644, 1_600_000_000
            tf.addfile(ti, io.BytesIO(chunk))
            size += len(chunk)
            big += 1
        for i in range(200):
            ti = tarfile.TarInfo(f"usr/bin/link{i}")
            ti.type, ti.linkname = tarfile.SYMTYPE, "../lib/pkg00/mod000/file0.py"
            tf.addfile(ti)
    return size


def bench_unpack(work: Path, runs: int, mb: int, files: int, *, sync: bool) -> list[dict[str, Any]]:
    from orchestrator.storage.unpack import unpack_layer

    plain = work / "layer.tar"
    payload = make_layer(plain, mb, files)
    gz = work / "layer.tar.gz"
    with open(plain, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst)
    figures = []
    for label, path, tar_flag in (("gzip", gz, "-xzf"), ("plain", plain, "-xf")):
        ours: list[float] = []
        theirs: list[float] = []
        for i in range(-1, runs):  # run -1 is the warm-up, not counted
            d1, d2 = work / f"p{i}", work / f"t{i}"
            d2.mkdir()
            if sync:
                os.sync()  # the previous run's writeback is not charged to this one
            t0 = time.perf_counter()
            with open(path, "rb") as f:
                unpack_layer(f, d1)
            mine = time.perf_counter() - t0
            if sync:
                os.sync()
            t0 = time.perf_counter()
            subprocess.run(["tar", tar_flag, str(path), "-C", str(d2), "--same-owner", "-p"], check=True)
            tars = time.perf_counter() - t0
            if i >= 0:
                ours.append(mine)
                theirs.append(tars)
            shutil.rmtree(d1)
            shutil.rmtree(d2)
        mbs = payload / (1 << 20)
        figures.append({"name": f"layer unpack ({label}, {mbs:.0f} MiB in {files + 200} small entries + big files)",
                        "unit": "s", "pystack": stats(ours), "peers": {"tar": stats(theirs)},
                        "throughput_mib_s": {"pystack": round(mbs / statistics.median(ours), 1),
                                             "tar": round(mbs / statistics.median(theirs), 1)}})
    return figures


def bench_build(work: Path, runs: int | None) -> dict[str, Any]:
    from orchestrator.images.base_images import build_busybox
    from orchestrator.images.build.builder import BuildReport, build_image
    from orchestrator.images.build.runner import RuntimeBuildRunner
    from orchestrator.images.store import ImageStore
    from orchestrator.paths import Paths

    paths = Paths(work / "root")
    paths.ensure()
    store = ImageStore(paths)
    build_busybox(store)
    ctx = work / "ctx"
    (ctx / "src").mkdir(parents=True)
    for i in range(200):
        (ctx / "src" / f"m{i}.py").write_text(f"x = {i}\n" * 50)
    (ctx / "Dockerfile").write_text("FROM busybox\nENV APP=/app\nWORKDIR /app\nCOPY src/ ./src/\n"
                                    "RUN ls src | wc -l > count\nCMD [\"cat\", \"count\"]\n")
    runner = RuntimeBuildRunner(paths)
    build_image(ctx, tag="bench:1", build_args={}, target=None, store=store, runner=runner)
    times: list[float] = []

    def counted(reps: int) -> None:
        for _ in range(reps):
            report = BuildReport()
            t0 = time.perf_counter()
            build_image(ctx, tag="bench:1", build_args={}, target=None, store=store, runner=runner, report=report)
            times.append(time.perf_counter() - t0)
            assert report.misses == 0, report.steps

    counted(runs or 5)
    if runs is None and statistics.median(times) < 0.1:
        counted(5)  # the rule: 10 counted runs for anything under 100 ms
    store.close()
    return {"name": "build: unchanged rebuild, 5 steps all cached (200-file COPY)", "unit": "s",
            "pystack": stats(times), "peers": {},
            "note": "in-process; target < 0.5 s. No peer: podman build needs the base in its own store"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=None,
                    help="counted runs (default: 5, or 10 for a figure under 100 ms)")
    ap.add_argument("--mb", type=int, default=32)
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--disk", action="store_true",
                    help="unpack on disk (after a sync per run) instead of in /dev/shm")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("storage_bench needs root")
    work = Path(tempfile.mkdtemp(prefix="pystack-storage-bench-"))
    fast = work if args.disk else Path(tempfile.mkdtemp(prefix="pystack-storage-bench-", dir="/dev/shm"))
    try:
        figures = bench_unpack(fast, args.runs or 5, args.mb, args.files, sync=args.disk)
        for f in figures:
            f["name"] += " on disk" if args.disk else " into tmpfs"
        figures.append(bench_build(work, args.runs))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(fast, ignore_errors=True)
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
