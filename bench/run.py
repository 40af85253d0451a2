"""`make bench`: pystack measured side by side with crun, runc, podman, podman-compose and Docker.

    python3 bench/run.py [--quick] [--only TOOL[,TOOL]] [--out DIR] [--groups G[,G]] [--keep]

Prepares one busybox image for every tool, measures each figure group with the tools alternated, checks
after each group that nothing was left behind, and writes docs/benchmarks.md and bench/results.json (or
DIR/benchmarks.md and DIR/results.json with --out). Exit status: 0 when every pystack figure attempted
was measured or is unavailable because its command does not exist yet; 1 when a pystack run failed or
left something behind; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import extra, image, leaks, netns, peers, procs, report, sysinfo  # noqa: E402
from bench.context import Context  # noqa: E402
from bench.model import Figure  # noqa: E402
from bench.pystack_tool import Pystack  # noqa: E402

GROUPS = ("runtime", "cli", "stack5", "restart", "fifty", "memory", "extra")
TOOLS = ("pystack", "crun", "runc", "podman", "docker", "docker-compose", "podman-compose")


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 warm-up and 3 counted runs per figure")
    ap.add_argument("--only", default=None, help=f"comma-separated tools among {', '.join(TOOLS)}")
    ap.add_argument("--out", default=None, help="write benchmarks.md and results.json into this directory")
    ap.add_argument("--groups", default=None, help=f"comma-separated figure groups among {', '.join(GROUPS)}")
    ap.add_argument("--runs", type=int, default=None, help="counted runs per figure (development only)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (for debugging)")
    args = ap.parse_args(argv)
    for opt, allowed in (("only", TOOLS), ("groups", GROUPS)):
        value = getattr(args, opt)
        if value is not None:
            items = {x.strip() for x in value.split(",") if x.strip()}
            bad = items - set(allowed)
            if bad or not items:
                ap.error(f"--{opt}: unknown {', '.join(sorted(bad)) or '(empty)'}; choose from {', '.join(allowed)}")
            setattr(args, opt, items)
    return args


def prepare_peers(ctx: Context) -> None:
    for name in ("crun", "runc"):
        if ctx.wants(name):
            try:
                ctx.runtimes[name] = peers.prepare_runtime(name, ctx.workdir)
            except Exception as exc:
                ctx.missing[name] = str(exc)
    for name, prep in (("podman", peers.prepare_podman), ("docker", peers.prepare_docker)):
        compose = "podman-compose" if name == "podman" else "docker-compose"
        if not (ctx.wants(name) or ctx.wants(compose)):
            continue
        try:
            eng = prep(ctx.workdir, ctx.image_tar)
        except Exception as exc:
            ctx.missing[name] = str(exc)
            if ctx.wants(compose):
                ctx.missing[compose] = f"needs {name}: {exc}"
            continue
        if ctx.wants(name):
            ctx.engines[name] = eng
        if ctx.wants(compose):
            if eng.compose:
                ctx.composes[compose] = eng
            else:
                ctx.missing[compose] = f"{compose} not found"
        if not ctx.wants(name) and not eng.compose:
            eng.close()


def close_peers(ctx: Context) -> None:
    closed = set()
    for eng in list(ctx.engines.values()) + list(ctx.composes.values()):
        if id(eng) not in closed:
            closed.add(id(eng))
            try:
                eng.close()
            except Exception as exc:
                print(f"bench: closing {eng.name}: {exc}", file=sys.stderr)
    for rt in ctx.runtimes.values():
        rt.close()


def run_group(ctx: Context, group: str, figures: list[dict[str, object]], leak_notes: list[str],
              failures: list[str]) -> None:
    from bench.figures import cli_run, fifty, memory, restart, runtime, stack5

    modules = {"runtime": runtime, "cli": cli_run, "stack5": stack5, "restart": restart, "fifty": fifty,
               "memory": memory}
    busy = procs.wait_quiet()
    if busy is not None:
        ctx.notes.append(f"{group}: the machine was still {busy:.0%} busy after 20 s of waiting for it to "
                         "settle; measured anyway")
    if group == "extra":
        t0 = time.monotonic()
        figs, notes = extra.run_all(ctx.quick, ctx.only, timeout=180 if ctx.quick else 300)
        ctx.durations[group] = round(time.monotonic() - t0, 1)
        figures.extend(figs)
        ctx.notes.extend(notes)
        return
    peer_ns = [peers.ns_name("podman", ctx.workdir), peers.ns_name("docker", ctx.workdir)]
    before = leaks.take(ctx.workdir, peer_ns)
    t0 = time.monotonic()
    try:
        produced: list[Figure] = modules[group].measure(ctx)
    except Exception as exc:  # a bench bug must not lose the other groups' figures
        import traceback

        traceback.print_exc()
        failures.append(f"group {group} crashed: {exc}")
        produced = []
    took = time.monotonic() - t0
    ctx.durations[group] = round(took, 1)
    print(f"bench: {group} done in {took:.1f} s", file=sys.stderr)
    found: list[str] = []
    foreign: list[str] = []
    after = before
    for _ in range(30):
        procs.reap_orphans()
        ours = leaks.pystack_bridges(ctx.pystack.root)
        after = leaks.take(ctx.workdir, peer_ns)
        found, foreign = leaks.diff(before, after, ctx.workdir, ours)
        if not found:
            break
        time.sleep(0.2)
    seen: set[int] = set()
    for eng in list(ctx.engines.values()) + list(ctx.composes.values()):
        if id(eng) in seen:
            continue
        seen.add(id(eng))
        left = eng.names()
        if left:
            found.append(f"{eng.name} containers {', '.join(left[:5])}")
            eng.remove_all()
    for item in collapse(found):
        leak_notes.append(f"{group}: left behind {item}")
    if foreign:
        leak_notes.append(f"{group}: {len(foreign)} things appeared meanwhile that are not the bench's (another "
                          f"user of this machine), e.g. {'; '.join(foreign[:3])}")
    if found:
        failures.append(f"group {group} left things behind")
        for item in collapse(leaks.clean(before, after, ours)):
            leak_notes.append(f"{group}: bench cleaned up after it: {item}")
        time.sleep(0.5)
        procs.reap_orphans()
    for f in produced:
        if not ctx.wants("pystack") and not f.pystack.values and not f.pystack.failed:
            f.pystack.unavailable = "not selected (--only)"
    figures.extend(f.to_dict() for f in produced)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(f"bench: stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    procs.become_subreaper()
    signal.signal(signal.SIGTERM, _terminate)  # so that the clean-up in `finally` runs
    workdir = Path(tempfile.mkdtemp(prefix="psbench-", dir="/tmp"))
    rootfs = image.make_rootfs(workdir / "rootfs")
    tar = image.make_rootfs_tar(rootfs, workdir / "busybox-rootfs.tar")
    from bench.figures.runtime import make_bundle

    bundle = make_bundle(workdir / "bundle", rootfs)
    ctx = Context(workdir=workdir, quick=args.quick, only=args.only, rootfs=rootfs, image_tar=tar,
                  bundle=bundle, pystack=Pystack(workdir), runs_override=args.runs)
    figures: list[dict[str, object]] = []
    leak_notes: list[str] = []
    failures: list[str] = []
    versions: dict[str, str] = {}
    try:
        if ctx.wants("pystack"):
            ctx.pystack.prepare_image(tar)
            if ctx.pystack.image_failed:
                failures.append(f"preparing pystack's busybox image: {ctx.pystack.image_failed}")
            versions["pystack"] = ctx.pystack.version()
        prepare_peers(ctx)
        versions.update({k: v for k, v in peers.versions(ctx.engines).items()
                         if ctx.wants(k) or (k in ("dockerd", "containerd", "conmon", "netavark")
                         and ctx.only is None)})
        groups = [g for g in GROUPS if args.groups is None or g in args.groups]
        for group in groups:
            print(f"bench: measuring {group}", file=sys.stderr)
            run_group(ctx, group, figures, leak_notes, failures)
    finally:
        close_peers(ctx)
        for item in final_sweep(ctx):
            leak_notes.append(f"end of run: {item}")
        for kind in ("podman", "docker"):
            netns.delete(peers.ns_name(kind, workdir))
        procs.reap_orphans()
        peers.unmount_under(workdir)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    from bench.model import finish

    figures = [finish(f) for f in figures]
    failures += pystack_failures(figures)
    mode = "quick" if args.quick else "full"
    meta = {
        "mode": mode,
        "runs_text": f"1 warm-up + {args.runs} counted runs per figure (development override)" if args.runs
        else "1 warm-up + 3 counted runs per figure" if args.quick
        else "1 warm-up + 5 counted runs per figure (10 under 100 ms)",
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "duration_s": round(time.monotonic() - started, 1),
        "only": sorted(args.only) if args.only else None,
        "runs_override": args.runs,
        "missing_peers": ctx.missing,
        "notes": ctx.notes + [f"FAILED: {f}" for f in failures],
        "leaks": leak_notes,
        "group_seconds": ctx.durations,
    }
    results = report.build(sysinfo.machine(), versions, figures, meta)
    out_dir = Path(args.out) if args.out else None
    json_path = (out_dir / "results.json") if out_dir else REPO / "bench" / "results.json"
    md_path = (out_dir / "benchmarks.md") if out_dir else REPO / "docs" / "benchmarks.md"
    report.write_json(results, json_path)
    report.write_markdown(results, md_path)
    print(f"bench: wrote {md_path} and {json_path} in {meta['duration_s']} s", file=sys.stderr)
    for f in failures:
        print(f"bench: FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


def final_sweep(ctx: Context) -> list[str]:
    """After a crash or an interrupted group: take down whatever pystack still runs under the bench's
    root, then kill what still names the work directory, so that nothing outlives the bench."""
    wd = str(ctx.workdir)

    def alive() -> list[procs.Proc]:
        return procs.select(lambda p: wd in p.cmdline or procs.environ_has(p.pid, wd.encode()),
                            host_only=False)

    done: list[str] = []
    if not alive():
        return done
    if ctx.wants("pystack") and ctx.pystack.missing("down") is None:
        for project in leaks.PROJECTS:
            ctx.pystack.stack(ctx.fixture("sleepers.yaml"), project, "down", "-v", "-t", "0", "--remove-orphans",
                              timeout=120)
    time.sleep(0.5)
    procs.reap_orphans()
    for p in alive():
        try:
            os.kill(p.pid, signal.SIGKILL)
            done.append(f"killed {p.pid} {p.cmdline.replace(wd, '$WORKDIR')[:120]}")
        except OSError:
            pass
    time.sleep(0.2)
    procs.reap_orphans()
    return collapse(done)


def collapse(items: list[str]) -> list[str]:
    """``process 12 X``, ``process 13 X`` → ``2 × process X``: one report line per distinct thing."""
    import re

    counts: dict[str, int] = {}
    for item in items:
        key = re.sub(r"^(process|killed) \d+ ", r"\1 ", item)
        counts[key] = counts.get(key, 0) + 1
    return [f"{n} × {k}" if n > 1 else k for k, n in counts.items()]


def pystack_failures(figures: list[dict[str, object]]) -> list[str]:
    """A pystack figure that was attempted (not unavailable) and has a failed run, or no run at all."""
    out = []
    for fig in figures:
        st = fig.get("pystack")
        if not isinstance(st, dict) or st.get("unavailable"):
            continue
        if st.get("failed") or not st.get("n"):
            errors = st.get("errors") or ["no counted run"]
            out.append(f"{fig.get('name')}: {errors[0]}")
    return out


if __name__ == "__main__":
    sys.exit(main())
