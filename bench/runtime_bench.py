"""The runtime alone: pystack's engine beside crun and runc on the same bundle, in one run.

    python3 bench/runtime_bench.py [--runs N] [--json FILE]

Figures (medians over N runs, tools alternated run by run): ``run`` of /bin/true (create + start +
wait + delete; pystack through its Python API, as the orchestrator calls it, and through its CLI),
time to a running ``sleep`` (create + start), ``exec`` of ``true`` into a running container, and the
memory each running container costs in pystack's monitor (USS/PSS from /proc/PID/smaps_rollup).
Prints one JSON object per figure: {name, unit, pystack:{median,min,max,n}, peers:{crun:{…},runc:{…}}}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from orchestrator.paths import Paths  # noqa: E402
from orchestrator.runtime.engine import PystackRuntime  # noqa: E402
from orchestrator.runtime.external import ExternalRuntime  # noqa: E402
from tests.helpers.rootfs import make_busybox_rootfs  # noqa: E402


def summary(xs: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(xs), 3), "min": round(min(xs), 3), "max": round(max(xs), 3),
            "n": len(xs)}


def make_bundle(work: Path, args: list[str]) -> Path:
    bundle = work / f"bundle-{args[0]}"
    bundle.mkdir()
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = args
    cfg["root"] = {"path": str(work / "rootfs"), "readonly": True}
    (bundle / "config.json").write_text(json.dumps(cfg))
    return bundle


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def uss_pss(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        fields[key] = int(rest.split()[0])
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return uss / 1024, fields.get("Pss", 0) / 1024


class Peer:
    def __init__(self, name: str, work: Path) -> None:
        self.name = name
        self.ext = ExternalRuntime(name, Paths(work / f"{name}-state"))
        self.ext.oci_root.mkdir(parents=True, exist_ok=True)

    def cmd(self, *args: str) -> None:
        subprocess.run(self.ext.argv(*args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="rtbench-"))
    figures: list[dict[str, Any]] = []
    try:
        make_busybox_rootfs(work / "rootfs")
        true_b, sleep_b = make_bundle(work, ["true"]), make_bundle(work, ["sleep", "300"])
        paths = Paths(work / "pystack")
        rt = PystackRuntime(paths)
        peers = [Peer(n, work) for n in ("crun", "runc") if shutil.which(n)]
        env = {**os.environ, "PYSTACK_ROOT": str(paths.root)}
        res: dict[str, dict[str, list[float]]] = {f: {} for f in ("run", "cli", "sleep", "exec")}

        def add(fig: str, tool: str, ms: float) -> None:
            res[fig].setdefault(tool, []).append(ms)

        def api_run(cid: str) -> None:
            rt.create(cid, true_b)
            rt.start(cid)
            rt.wait(cid, 30)
            rt.delete(cid, force=True)

        for i in range(args.runs + 2):  # two warm-up rounds
            keep = i >= 2
            cid = f"rt-b{uuid.uuid4().hex[:8]}"
            ms = timed(lambda cid=cid: api_run(cid))  # type: ignore[misc]
            keep and add("run", "pystack", ms)
            ms = timed(lambda cid=cid: subprocess.run(  # type: ignore[misc]
                ["pystack", "runtime", "run", "--bundle", str(true_b), cid + "c"], env=env, check=True))
            keep and add("cli", "pystack", ms)
            for p in peers:
                ms = timed(lambda p=p, cid=cid: p.cmd("run", "--bundle", str(true_b), cid + p.name))  # type: ignore[misc]
                keep and add("run", p.name, ms)
                keep and add("cli", p.name, ms)
            # time to a running sleep, then exec of true into it
            ms = timed(lambda cid=cid: (rt.create(cid + "s", sleep_b), rt.start(cid + "s")))  # type: ignore[misc]
            keep and add("sleep", "pystack", ms)
            with open(os.devnull, "w") as null:
                ms = timed(lambda cid=cid: rt.exec(cid + "s", {"args": ["true"]}, stdout=null, stderr=null))  # type: ignore[misc]
            keep and add("exec", "pystack", ms)
            rt.delete(cid + "s", force=True)
            for p in peers:
                name = cid + "s" + p.name
                ms = timed(lambda p=p, name=name: (p.cmd("create", "--bundle", str(sleep_b), name),  # type: ignore[misc]
                                                   p.cmd("start", name)))
                keep and add("sleep", p.name, ms)
                ms = timed(lambda p=p, name=name: p.cmd("exec", name, "true"))  # type: ignore[misc]
                keep and add("exec", p.name, ms)
                p.cmd("delete", "--force", name)
        names = {"run": "run /bin/true (pystack Python API)", "cli": "run /bin/true (command line)",
                 "sleep": "create+start to a running sleep", "exec": "exec of true into a running container"}
        for fig, label in names.items():
            figures.append({"name": label, "unit": "ms", "pystack": summary(res[fig]["pystack"]),
                            "peers": {p.name: summary(res[fig][p.name]) for p in peers}})
        figures.extend(monitor_memory(rt, sleep_b))
    finally:
        for st in PystackRuntime(Paths(work / "pystack")).list():
            PystackRuntime(Paths(work / "pystack")).delete(st.id, force=True)
        shutil.rmtree(work, ignore_errors=True)
    for f in figures:
        print(json.dumps(f))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


def monitor_memory(rt: PystackRuntime, bundle: Path, count: int = 5) -> list[dict[str, Any]]:
    """USS and PSS of pystack's per-container monitor with ``count`` containers running side by side.

    The side-by-side comparison with conmon and containerd-shim is the memory group of
    ``bench/run.py``, which runs the peers; this is the runtime's own figure, one sample per monitor.
    """
    ids = [f"rt-m{uuid.uuid4().hex[:8]}" for _ in range(count)]
    uss, pss = [], []
    try:
        for cid in ids:
            rt.create(cid, bundle)
            rt.start(cid)
        time.sleep(0.3)
        for cid in ids:
            data = json.loads((rt.base / cid / "state.json").read_text())
            u, p = uss_pss(int(data["monitor_pid"]))
            uss.append(u)
            pss.append(p)
    finally:
        for cid in ids:
            rt.delete(cid, force=True)
    return [{"name": f"monitor {kind} per running container (runtime alone)", "unit": "MB",
             "pystack": summary(values), "peers": {}} for kind, values in (("USS", uss), ("PSS", pss))]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
