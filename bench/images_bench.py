"""Pull of a multi-layer image from a local registry: pystack beside skopeo and podman.

    python3 bench/images_bench.py [--runs N] [--layers N] [--layer-mb N] [--port 5318]

Starts Debian's docker-registry on 127.0.0.1 (port in 5301-5319), pushes a gzip multi-layer image
with pystack, then times, alternating the tools, each into a fresh destination:
  * pull: ``pystack pull`` (download + verify, no unpack) vs ``skopeo copy`` to a dir vs ``podman pull``
  * pull+unpack: ``pystack pull`` and unpacking every layer vs ``podman pull`` (which unpacks too)
Prints a JSON list of figures {name, unit, pystack:{median,min,max,n}, peers:{skopeo:{…}, podman:{…}}}.
Everything it starts (registry, podman storage) is removed before it exits.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PODMAN_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def stats(xs: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(xs), 4), "min": round(min(xs), 4), "max": round(max(xs), 4),
            "n": len(xs)}


def start_registry(work: Path, port: int) -> subprocess.Popen[bytes]:
    cfg = work / "registry.yml"
    cfg.write_text(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n"
                   f"  filesystem:\n    rootdirectory: {work / 'registry-data'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(250):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.02)
    proc.kill()
    raise SystemExit("docker-registry did not start")


def make_image(work: Path, ref: str, layers: int, layer_mb: int) -> None:
    from orchestrator.images.store import ImageStore
    from orchestrator.paths import Paths

    store = ImageStore(Paths(work / "src-root"))
    paths = []
    for i in range(layers):
        tar = work / f"layer{i}.tar"
        d = work / f"layer{i}"
        (d / f"data{i}").mkdir(parents=True)
        for j in range(8):  # half random (incompressible), half text (compressible): like real layers
            blob = os.urandom(layer_mb * 1024 * 1024 // 16) + (b"pystack layer %d\n" % j) * (layer_mb * 4096)
            (d / f"data{i}" / f"f{j}").write_bytes(blob)
        subprocess.run(["tar", "-C", str(d), "-cf", str(tar), "."], check=True)
        with open(tar, "rb") as src, gzip.open(f"{tar}.gz", "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst)
        paths.append(Path(f"{tar}.gz"))
    store.add_image(paths, {"config": {"Cmd": ["sh"]}}, ref)
    store.push(ref)
    store.close()


def timed(fn: Callable[[], None]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {proc.stderr.decode(errors='replace').strip()[-300:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--layer-mb", type=int, default=4)
    ap.add_argument("--port", type=int, default=5318)
    args = ap.parse_args()
    if not 5301 <= args.port <= 5319:
        ap.error("--port must be in 5301-5319")
    work = Path(tempfile.mkdtemp(prefix="pstest-imgbench-"))
    prun = Path(tempfile.mkdtemp(prefix="pstest-prun-"))
    (work / "containers.conf").write_text(PODMAN_CONF)
    penv = {**os.environ, "CONTAINERS_CONF": str(work / "containers.conf")}
    reg = start_registry(work, args.port)
    ref = f"localhost:{args.port}/pstest/bench:1"
    podman = ["podman", "--root", str(work / "proot"), "--runroot", str(prun), "--storage-driver", "overlay"]
    pull_t: dict[str, list[float]] = {"pystack": [], "skopeo": [], "podman": []}
    unpack_t: dict[str, list[float]] = {"pystack": [], "podman": []}
    try:
        make_image(work, ref, args.layers, args.layer_mb)
        pystack = [sys.executable, "-m", "orchestrator", "--progress", "quiet"]
        unpack = ("import sys; from pathlib import Path; from orchestrator.images.store import ImageStore;"
                  "from orchestrator.paths import Paths; s = ImageStore(Paths(Path(sys.argv[1])));"
                  "s.layer_dirs(s.pull(sys.argv[2]))")
        for i in range(args.runs + 1):  # the first round warms caches and is not counted
            dest = work / f"run{i}"
            figures = {
                "pystack": timed(lambda d=dest: run([*pystack, "--root", str(d / "ps"), "pull", ref])),
                "skopeo": timed(lambda d=dest: run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}",
                                                    f"dir:{d / 'sk'}"])),
                "podman": timed(lambda: run([*podman, "pull", "-q", "--tls-verify=false", ref], env=penv)),
            }
            up = timed(lambda d=dest: run([sys.executable, "-c", unpack, str(d / "ps2"), ref]))
            if i:
                for k, v in figures.items():
                    pull_t[k].append(v)
                unpack_t["pystack"].append(up)
                unpack_t["podman"].append(figures["podman"])
            run([*podman, "rmi", "-a", "-f"], env=penv)
            shutil.rmtree(dest, ignore_errors=True)
    finally:
        reg.terminate()
        reg.wait()
        subprocess.run([*podman, "system", "reset", "--force"], capture_output=True, env=penv)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(prun, ignore_errors=True)
    size = f"{args.layers}x{args.layer_mb} MB gzip layers"
    out = [
        {"name": f"pull {size} from a local registry (download + verify)", "unit": "s",
         "pystack": stats(pull_t["pystack"]),
         "peers": {"skopeo": stats(pull_t["skopeo"]), "podman": stats(pull_t["podman"])}},
        {"name": f"pull {size} and unpack every layer", "unit": "s", "pystack": stats(unpack_t["pystack"]),
         "peers": {"podman": stats(unpack_t["podman"])}},
    ]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
