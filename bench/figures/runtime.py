"""`run` of /bin/true from a busybox root, start to exit: pystack's runtime beside crun and runc.

The same bundle (config.json from ``runc spec``, root read-only) for every runtime; each run uses a fresh
id and the runtime deletes the container when it exits. pystack is measured through its command line
(``pystack --root R runtime run --bundle DIR ID``: what a user pays, Python start-up included) and, as a
second figure, through its Python API in a process that imported it once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from bench import cmd, procs
from bench.context import Context
from bench.figures.common import attempt, rotations, settle
from bench.model import Figure
from bench.peers import RuntimePeer

GROUP = "Runtime alone (OCI bundle)"


def make_bundle(bundle: Path, rootfs: Path) -> Path:
    bundle.mkdir(parents=True, exist_ok=True)
    spec = bundle / "config.json"
    if shutil.which("runc"):
        spec.unlink(missing_ok=True)
        cmd.check(cmd.run(["runc", "spec", "--bundle", str(bundle)], timeout=30))
        config = json.loads(spec.read_text())
    else:  # the essentials of what `runc spec` writes, so that a machine without runc still has a bundle
        config = {
            "ociVersion": "1.0.2",
            "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "noNewPrivileges": True,
                        "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
            "hostname": "bench",
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                       {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                        "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}],
            "linux": {"namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]},
        }
    config["process"]["args"] = ["/bin/true"]
    config["process"]["terminal"] = False
    config["root"] = {"path": str(rootfs.resolve()), "readonly": True}
    spec.write_text(json.dumps(config, indent=2))
    return bundle


def _api_runner(ctx: Context) -> RuntimePeer:
    root = ctx.pystack.root
    runner = Path(__file__).resolve().parent.parent / "api_runner.py"
    proc = subprocess.Popen([sys.executable, str(runner), str(root)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=str(runner.parent.parent))
    procs.keep_child(proc.pid)
    assert proc.stdout is not None
    hello = json.loads(proc.stdout.readline() or '{"ready": false, "err": "no answer"}')
    peer = RuntimePeer("pystack-api", root / "runtime", runner=proc)
    if not hello.get("ready"):
        peer.close()
        raise RuntimeError(str(hello.get("err")))
    return peer


def measure(ctx: Context) -> list[Figure]:
    rule = {"peer": "crun", "factor": 1.0}
    cli_fig = Figure("run /bin/true, runtime alone (pystack CLI)", "ms", "≤ crun's median", rule, GROUP)
    api_fig = Figure("run /bin/true, runtime alone (pystack Python API)", "ms", "≤ crun's median", rule, GROUP,
                     note="create+start+wait+delete through orchestrator.runtime.api in a process that "
                          "imported it once; the peers' series are the same runs as in the CLI figure.")
    tools: list[str] = []
    api: RuntimePeer | None = None
    if ctx.wants("pystack"):
        why = ctx.pystack.missing("runtime", "run")
        if why:
            cli_fig.pystack.unavailable = why
        else:
            tools.append("pystack")
        try:
            api = _api_runner(ctx)
            tools.append("pystack-api")
        except Exception as exc:
            api_fig.pystack.unavailable = f"Python API not usable yet: {exc}"
    for name in ctx.runtimes:
        tools.append(name)
        cli_fig.peer(name)
    for name, why in ctx.missing.items():
        if name in ("crun", "runc"):
            cli_fig.peer(name).unavailable = why
    if not tools:
        return [cli_fig, api_fig]

    counter = [0]

    def one(tool: str, counted: bool) -> None:
        counter[0] += 1
        cid = f"bench-rt-{tool}-{counter[0]}"
        if tool == "pystack":
            series = [cli_fig.pystack]
            res = ctx.pystack.run("runtime", "run", "--bundle", str(ctx.bundle), cid, timeout=60)
            if not res.ok:
                ctx.pystack.run("runtime", "delete", "--force", cid, timeout=60)
        else:
            runner = api if tool == "pystack-api" else ctx.runtimes[tool]
            assert runner is not None
            series = [api_fig.pystack] if tool == "pystack-api" else [cli_fig.peer(tool)]
            res = runner.run(ctx.bundle, cid)
        if counted and attempt(series, lambda: cmd.check(res)):
            for s in series:
                s.add(res.seconds * 1000)

    runs = ctx.runs(fast=True)
    for _, tool in rotations(tools, ctx.warmups):
        one(tool, False)
    for _, tool in rotations(tools, runs):
        one(tool, True)
        settle()
    if api is not None:
        api.close()
    for name in ctx.runtimes:
        api_fig.peers[name] = cli_fig.peer(name)
    return [cli_fig, api_fig]
