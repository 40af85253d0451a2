"""``build``, ``pull`` and ``push`` as Compose has them: over the stack's services.

Given an image reference (``pull busybox:latest``) or a build directory (``build ./dir -t x``),
the same names act on that one image, so both Compose's and Docker's habits work.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from orchestrator.spec.models import Stack


def _stack_services(opts: GlobalOptions, names: tuple[str, ...]) -> tuple[Stack, list[str]] | None:
    """The stack and the selected services when ``names`` are services of a findable stack file."""
    from orchestrator.errors import PystackError

    try:
        stack = proj.load(opts)
    except PystackError:
        if names:
            return None
        raise
    unknown = [n for n in names if n not in stack.services]
    if unknown:
        return None
    return stack, list(names) or list(stack.services)


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--no-cache", is_flag=True, help="Do not use cache when building the image.")
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VAL",
              help="Set build-time variables for services.")
@click.option("-q", "--quiet", is_flag=True, help="Don't print anything to STDOUT.")
@click.option("--with-dependencies", is_flag=True, help="Also build dependencies (transitively).")
@click.option("--push", "push_after", is_flag=True, help="Push service images.")
@click.option("--ssh", "ssh", multiple=True, metavar="ID[=SOCKET|KEY]",
              help="Set SSH authentications used when building service images. (use 'default' for using your "
                   "default SSH Agent)")
@click.option("--pull", is_flag=True, help="Always attempt to pull a newer version of the image.")
@click.option("--check", is_flag=True,
              help="Check build configuration: run BuildKit's build checks on the Dockerfiles instead of building "
                   "(exit status 1 when a check fails).")
@click.pass_context
def build(click_ctx: click.Context, args: tuple[str, ...], no_cache: bool, build_args: tuple[str, ...], quiet: bool,
          with_dependencies: bool, push_after: bool, ssh: tuple[str, ...], pull: bool, check: bool) -> None:
    """Build the stack's images (``build [SERVICE...]``), or one directory (``build DIR -t NAME``).

    Names that are services of the stack file are built as its services (tagged as ``up`` will
    look for them), even when a directory has the same name; anything else, or a flag only the
    one-directory build has (``-t``, ``-f``, ``--target``, ``--network``), builds that directory."""
    opts: GlobalOptions = click_ctx.obj
    positional = [a for a in args if not a.startswith("-")]
    own_flags = [a for a in args if a.startswith("-")]
    found = None if own_flags else _stack_services(opts, tuple(positional))
    if check:
        if found is not None:
            stack, names = found
            sources = [_service_dockerfile(stack, n) for n in names if stack.services[n].build is not None]
        elif not own_flags and positional and not any(os.path.isdir(a) for a in positional):
            raise click.UsageError(f"no such service: {' '.join(positional)}")
        else:
            sources = [_directory_dockerfile(args)]
        sys.exit(_check_dockerfiles(sources))
    if found is None:
        if not own_flags and not any(os.path.isdir(a) for a in positional):
            raise click.UsageError(f"no such service: {' '.join(positional)}")
        if with_dependencies or push_after:
            raise click.UsageError("--with-dependencies and --push are for the stack's services, not a directory")
        from orchestrator.cli.build_cmd import build as single

        extra = [*(["--no-cache"] if no_cache else []), *(["-q"] if quiet else []), *(["--pull"] if pull else []),
                 *(f"--build-arg={a}" for a in build_args), *(f"--ssh={a}" for a in ssh)]
        single.main(args=[*args, *extra], prog_name="pystack build", obj=opts, standalone_mode=False)
        return
    from orchestrator.cli.build_cmd import parse_build_args, ssh_paths
    from orchestrator.reconcile import translate
    from orchestrator.reconcile.building import build_service_image

    stack, names = found
    if with_dependencies and positional:
        from orchestrator.plan.order import closure, dependencies

        names = sorted(closure(dependencies(stack), names))
    overrides = parse_build_args(build_args)
    ctx = proj.context(opts)
    progress = proj.reporter(opts)

    def report(line: str) -> None:
        if not quiet:
            progress(line)

    for name in names:
        svc = stack.services[name]
        if svc.build is None:
            continue
        ref = translate.image_ref(stack.name, svc)
        report(f"Image {ref}  Building")
        build_service_image(ctx, stack, svc, ref, report, no_cache=no_cache, build_args=overrides,
                            ssh=[ssh_paths(a) for a in ssh], pull=pull)
        report(f"Image {ref}  Built")
        if push_after and svc.image:
            from orchestrator.cli import image_cmd

            click_ctx.invoke(image_cmd.push, ref=ref, insecure=False, quiet=quiet)


def _service_dockerfile(stack: Stack, name: str) -> tuple[str, str]:
    """(where to say it is, text) of a service's Dockerfile: its ``dockerfile_inline``, or the
    file, relative to its build context unless absolute."""
    from orchestrator.errors import PystackError

    b = stack.services[name].build
    assert b is not None
    if b.dockerfile_inline is not None:
        return f"service {name}: dockerfile_inline", b.dockerfile_inline
    path = Path(b.dockerfile) if os.path.isabs(b.dockerfile) else Path(b.context) / b.dockerfile
    try:
        return os.path.relpath(path), path.read_text()
    except OSError as exc:
        raise PystackError(f"service {name!r}: cannot read its Dockerfile {path}: {exc.strerror}") from None


def _directory_dockerfile(args: tuple[str, ...]) -> tuple[str, str]:
    """(where, text) of the one-directory build's Dockerfile, its arguments read by that command's
    own parser: ``-f`` (relative to the context unless absolute), else CONTEXT/Dockerfile."""
    from orchestrator.cli.build_cmd import build as single
    from orchestrator.errors import PystackError

    params = single.make_context("pystack build", list(args)).params
    path = Path(params["context"]) / params["dockerfile"]  # an absolute -f stays itself
    try:
        return os.path.relpath(path), path.read_text()
    except OSError as exc:
        raise PystackError(f"build --check: cannot read {path}: {exc.strerror}") from None


def _check_dockerfiles(sources: list[tuple[str, str]]) -> int:
    """Print the build checks' findings for each Dockerfile, as BuildKit lays them out; the exit status."""
    from orchestrator.cli.build_check_report import block, summary
    from orchestrator.images.build.checks import check

    blocks = []
    for where, text in sources:
        lines = text.splitlines()
        blocks += [block(f, where, lines) for f in check(text, where)]
    click.echo(summary(len(blocks)))
    for text in blocks:
        click.echo("")
        click.echo(text)
    return 1 if blocks else 0


def _progress(opts: GlobalOptions, quiet: bool) -> Any:
    from orchestrator.images.progress import make_progress

    return make_progress("quiet" if quiet else opts.progress)


@click.command()
@click.argument("targets", nargs=-1)
@click.option("--platform", default=None, help="os/arch[/variant]; default: this host's or the service's.")
@click.option("--insecure", is_flag=True, help="Allow plain HTTP to this registry.")
@click.option("-q", "--quiet", is_flag=True, help="Pull without printing progress information.")
@click.option("--ignore-buildable", is_flag=True, help="Ignore images that can be built.")
@click.option("--ignore-pull-failures", is_flag=True, help="Pull what it can and ignores images with pull failures.")
@click.option("--include-deps", is_flag=True, help="Also pull services declared as dependencies.")
@click.option("--policy", type=click.Choice(["missing", "always"]), default="always", show_default=True,
              help="Apply pull policy: \"missing\" pulls only the images not present.")
@click.pass_context
def pull(click_ctx: click.Context, targets: tuple[str, ...], platform: str | None, insecure: bool, quiet: bool,
         ignore_buildable: bool, ignore_pull_failures: bool, include_deps: bool, policy: str) -> None:
    """Pull the stack's images (``pull [SERVICE...]``), or images by reference (``pull REF``)."""
    from orchestrator.cli import image_cmd
    from orchestrator.errors import PystackError
    from orchestrator.reconcile import translate

    opts: GlobalOptions = click_ctx.obj
    found = _stack_services(opts, targets)
    if found is None:
        for ref in targets:
            click_ctx.invoke(image_cmd.pull, ref=ref, platform=platform, insecure=insecure, quiet=quiet)
        return
    stack, names = found
    if include_deps and targets:
        from orchestrator.plan.order import closure, dependencies

        names = sorted(closure(dependencies(stack), names))
    ctx = proj.context(opts)
    for name in names:
        svc = stack.services[name]
        if svc.build is not None and (ignore_buildable or not svc.image):
            continue
        ref = translate.image_ref(stack.name, svc)
        if policy == "missing" and ctx.images.exists(ref):
            continue
        try:
            ctx.images.pull(ref, platform=platform or svc.platform, insecure=insecure, progress=_progress(opts, quiet))
        except PystackError as exc:
            if not ignore_pull_failures:
                raise
            click.echo(f"WARN service {name}: {exc}", err=True)


@click.command()
@click.argument("targets", nargs=-1)
@click.option("--insecure", is_flag=True, help="Allow plain HTTP to this registry.")
@click.option("-q", "--quiet", is_flag=True, help="Push without printing progress information.")
@click.option("--ignore-push-failures", is_flag=True, help="Push what it can and ignores images with push failures.")
@click.option("--include-deps", is_flag=True, help="Also push images of services declared as dependencies.")
@click.pass_context
def push(click_ctx: click.Context, targets: tuple[str, ...], insecure: bool, quiet: bool,
         ignore_push_failures: bool, include_deps: bool) -> None:
    """Push the stack's images (``push [SERVICE...]``), or images by reference (``push REF``)."""
    from orchestrator.cli import image_cmd
    from orchestrator.errors import PystackError
    from orchestrator.reconcile import translate

    opts: GlobalOptions = click_ctx.obj
    found = _stack_services(opts, targets)
    if found is None:
        refs = list(targets)
    else:
        stack, names = found
        if include_deps and targets:
            from orchestrator.plan.order import closure, dependencies

            names = sorted(closure(dependencies(stack), names))
        refs = [translate.image_ref(stack.name, stack.services[n]) for n in names if stack.services[n].image]
    for ref in refs:
        try:
            click_ctx.invoke(image_cmd.push, ref=ref, insecure=insecure, quiet=quiet)
        except PystackError as exc:
            if not ignore_push_failures:
                raise
            click.echo(f"WARN {ref}: {exc}", err=True)


@click.command()
@click.argument("services", nargs=-1)
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all containers (default shows just running).")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull the first result.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Format the output: docker's table, or one JSON object per container and line.")
@click.pass_obj
def stats(opts: GlobalOptions, services: tuple[str, ...], show_all: bool, no_stream: bool, no_trunc: bool,
          fmt: str) -> None:
    """Display a live stream of container(s) resource usage statistics.

    Read from each container's cgroup (CPU, memory, block I/O, pids) and network namespace, with
    docker's columns; CPU % is over the time between two readings (half a second for --no-stream).
    """
    import contextlib
    import json
    import time

    from orchestrator.cli import stats_view as view
    from orchestrator.errors import PystackError
    from orchestrator.state import containers as cstate

    name, _ = proj.project_name(opts)
    ctx = proj.context(opts)
    host_memory = _host_memory()
    last: dict[str, tuple[float, int]] = {}

    def read() -> list[view.Reading]:
        out = []
        for r in cstate.for_project(ctx.db(), name):
            if services and r.service not in services:
                continue
            rt = ctx.runtime(None if r.runtime == "pystack" else r.runtime)
            running = r.status in ("running", "paused")
            if not running and not show_all:
                continue
            s: dict[str, Any] = rt.stats(r.id) if running else {}
            now, cpu = time.monotonic(), int(s.get("cpu_usage_ns") or 0)
            prev = last.get(r.id)
            pct = 100.0 * (cpu - prev[1]) / ((now - prev[0]) * 1e9) if prev and now > prev[0] else 0.0
            last[r.id] = (now, cpu)
            limit = int(s.get("memory_limit") or 0)
            rx = tx = 0
            if running and r.netns:  # its own namespace: host or joined ones show 0B, as docker's
                with contextlib.suppress(OSError, ValueError, PystackError):
                    rx, tx = view.net_bytes(Path(f"/proc/{rt.state(r.id).pid}/net/dev").read_text())
            out.append(view.Reading(r.id, r.name, max(pct, 0.0), int(s.get("memory_usage") or 0),
                                    limit if 0 < limit < host_memory else host_memory, rx, tx,
                                    int(s.get("io_read_bytes") or 0), int(s.get("io_write_bytes") or 0),
                                    int(s.get("pids_current") or 0)))
        return out

    try:
        if no_stream:
            read()
            time.sleep(0.5)
        while True:
            readings = read()
            if fmt == "json":
                for reading in readings:
                    click.echo(json.dumps(view.fields(reading, trunc=not no_trunc)))
            else:
                if sys.stdout.isatty() and not no_stream:
                    click.echo("\x1b[2J\x1b[H", nl=False)  # redrawn in place, as docker stats does
                click.echo(view.table(readings, trunc=not no_trunc))
            if no_stream:
                return
            time.sleep(1.0)
    except KeyboardInterrupt:
        return


def _host_memory() -> int:
    """What docker shows as the limit of a container that has none: the host's memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


@click.command()
@click.argument("source")
@click.argument("dest")
@click.option("--index", type=click.IntRange(min=1), default=1, show_default=True,
              help="Index of the container if service has multiple replicas.")
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information).")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in SRC_PATH.")
@click.pass_obj
def cp(opts: GlobalOptions, source: str, dest: str, index: int, archive: bool, follow_link: bool) -> None:
    """Copy files between a container and the host: ``SERVICE:PATH HOSTPATH`` or the reverse.

    Paths inside the container resolve inside its root (symlinks cannot lead out of it), as the
    running container sees them: its volumes, binds and tmpfs included (a stopped one's volumes and
    binds too). What is copied belongs to the
    container's root, or on the host to you, unless -a keeps its owner. A HOSTPATH of - is a tar
    stream on standard output (or input), as docker cp's."""
    from orchestrator.errors import PystackError
    from orchestrator.state import containers as cstate
    name, _ = proj.project_name(opts)
    ctx = proj.context(opts)

    def split(arg: str) -> tuple[str | None, str]:
        svc, sep, path = arg.partition(":")
        return (svc, path) if sep and not os.path.exists(arg) else (None, arg)

    (s_svc, s_path), (d_svc, d_path) = split(source), split(dest)
    if (s_svc is None) == (d_svc is None):
        raise PystackError("cp: exactly one of SOURCE and DEST must be SERVICE:PATH")
    svc = s_svc or d_svc
    recs = [r for r in cstate.for_project(ctx.db(), name) if r.service == svc and r.number == index]
    if not recs:
        raise PystackError(f"cp: no container for service {svc!r}")
    cdir = ctx.paths.container(recs[0].id)
    from orchestrator.cli.copying import (
        container_root_owner,
        copy_in,
        copy_in_tar,
        copy_out,
        copy_out_tar,
        live_root,
    )

    def copy(root: Path) -> None:
        if s_svc is not None and d_path == "-":
            copy_out_tar(root, s_path, sys.stdout.buffer, follow_link=follow_link)
        elif s_svc is not None:
            copy_out(root, s_path, Path(d_path), follow_link=follow_link,
                     owner=None if archive else (os.geteuid(), os.getegid()))
        elif s_path == "-":
            copy_in_tar(sys.stdin.buffer, root, d_path,
                        owner=None if archive else container_root_owner(cdir / "config.json"))
        else:
            copy_in(Path(s_path), root, d_path, follow_link=follow_link,
                    owner=None if archive else container_root_owner(cdir / "config.json"))

    live = live_root(ctx, recs[0])
    try:
        if live is not None:
            copy(live)
        else:  # no processes to see its mounts through: bound over its root for the copy, as Docker does
            from orchestrator.cli.stopped_mounts import run_with_mounts

            run_with_mounts(cdir, copy)
    except OSError as exc:  # a read-only root or mount, a full disk...: what the container itself would meet
        where = d_path if d_svc is not None else s_path
        raise PystackError(f"cp: {where}: {exc.strerror or exc}") from None

