"""``pystack runtime …``: the OCI runtime verbs over bundles, as crun and runc have them.

Imports only click, the stdlib and the runtime itself (no pydantic or networkx),
because every verb is its own short-lived process and start-up time is most of its cost. The
lifecycle verbs usually do not come here at all: :mod:`orchestrator.cli.runtime_argv` reads their
arguments without click, and both ways call :mod:`orchestrator.cli.runtime_verbs`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli import runtime_verbs
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from orchestrator.runtime.api import Runtime


def _rt(ctx: click.Context) -> Runtime:
    from orchestrator.paths import Paths
    from orchestrator.runtime.api import get_runtime

    opts = ctx.find_object(GlobalOptions) or GlobalOptions()
    return get_runtime(ctx.meta.get("pystack.runtime"), Paths.from_env(opts.root))


@click.group()
@click.option("--runtime", "runtime_name", default=None, help="pystack (default), crun or runc.")
@click.pass_context
def runtime(ctx: click.Context, runtime_name: str | None) -> None:
    """Run OCI bundles with pystack's own container engine."""
    ctx.meta["pystack.runtime"] = runtime_name


@runtime.command()
@click.argument("container_id")
@click.option("-b", "--bundle", default=".", type=click.Path(file_okay=False), help="Bundle directory.")
@click.option("--pid-file", default=None, type=click.Path(dir_okay=False))
@click.option("--console-socket", default=None, type=click.Path())
@click.option("--log", "log_path", default=None, type=click.Path(dir_okay=False), help="json-file log.")
@click.pass_context
def create(ctx: click.Context, container_id: str, bundle: str, pid_file: str | None, console_socket: str | None,
           log_path: str | None) -> None:
    """Create a container from a bundle; it waits for ``start``."""
    runtime_verbs.create(_rt(ctx), container_id, bundle, pid_file, console_socket, log_path)


@runtime.command()
@click.argument("container_id")
@click.pass_context
def start(ctx: click.Context, container_id: str) -> None:
    """Run the user's program of a created container."""
    runtime_verbs.start(_rt(ctx), container_id)


@runtime.command()
@click.argument("container_id")
@click.pass_context
def state(ctx: click.Context, container_id: str) -> None:
    """Print the OCI state of a container as JSON."""
    runtime_verbs.state(_rt(ctx), container_id)


@runtime.command()
@click.argument("container_id")
@click.argument("signal", default="SIGTERM")
@click.option("-a", "--all", "all_", is_flag=True, help="Signal every process of the container.")
@click.pass_context
def kill(ctx: click.Context, container_id: str, signal: str, all_: bool) -> None:
    """Send a signal to the container's init (default SIGTERM)."""
    runtime_verbs.kill(_rt(ctx), container_id, signal, all_)


@runtime.command()
@click.argument("container_id")
@click.option("-f", "--force", is_flag=True, help="Kill it first if it is running.")
@click.pass_context
def delete(ctx: click.Context, container_id: str, force: bool) -> None:
    """Delete a stopped (or, with --force, any) container and its cgroup."""
    runtime_verbs.delete(_rt(ctx), container_id, force)


@runtime.command()
@click.argument("container_id")
@click.option("-b", "--bundle", default=".", type=click.Path(file_okay=False))
@click.option("--pid-file", default=None, type=click.Path(dir_okay=False))
@click.option("--log", "log_path", default=None, type=click.Path(dir_okay=False))
@click.option("--keep", is_flag=True, help="Do not delete the container after it exits.")
@click.pass_context
def run(ctx: click.Context, container_id: str, bundle: str, pid_file: str | None, log_path: str | None,
        keep: bool) -> None:
    """Create, start and wait; exit with the container's exit code."""
    sys.exit(runtime_verbs.run(_rt(ctx), container_id, bundle, pid_file, log_path, keep))


@runtime.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.argument("container_id")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-t", "--tty", is_flag=True)
@click.option("-d", "--detach", is_flag=True)
@click.option("-u", "--user", default=None, help="uid[:gid] or a name from the image's /etc/passwd.")
@click.option("-e", "--env", multiple=True, help="KEY=VALUE (repeatable).")
@click.option("-w", "--cwd", default=None)
@click.option("--process", "process_file", default=None, type=click.Path(dir_okay=False), help="OCI process JSON.")
@click.pass_context
def exec_cmd(ctx: click.Context, container_id: str, command: tuple[str, ...], tty: bool, detach: bool,
             user: str | None, env: tuple[str, ...], cwd: str | None, process_file: str | None) -> None:
    """Run a command inside a running container."""
    rt = _rt(ctx)
    proc: dict[str, Any] = json.loads(Path(process_file).read_text()) if process_file else {}
    if command:
        proc["args"] = list(command)
    st = rt.state(container_id)
    base_env = _container_env(st.bundle)
    for e in env:
        if "=" not in e:
            raise click.BadParameter(f"{e!r} is not KEY=VALUE", param_hint="--env")
        key = e.split("=", 1)[0]
        base_env = [x for x in base_env if not x.startswith(key + "=")] + [e]
    if env or "env" not in proc:
        proc["env"] = base_env
    if cwd:
        proc["cwd"] = cwd
    if user:
        from orchestrator.runtime.config_builder import resolve_user

        uid, gid, extra, _ = resolve_user(Path(f"/proc/{st.pid}/root"), user)
        proc["user"] = {"uid": uid, "gid": gid, **({"additionalGids": extra} if extra else {})}
    rc = rt.exec(container_id, proc, tty=tty, detach=detach)
    if detach:
        click.echo(str(rc))
        return
    sys.exit(rc)


def _container_env(bundle: str) -> list[str]:
    try:
        cfg = json.loads((Path(bundle) / "config.json").read_text())
    except (OSError, ValueError):
        return []
    return list((cfg.get("process") or {}).get("env") or [])


@runtime.command(name="list")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def list_cmd(ctx: click.Context, quiet: bool, fmt: str) -> None:
    """List containers."""
    states = _rt(ctx).list()
    if fmt == "json":
        click.echo(json.dumps([s.to_json() for s in states], indent=2))
        return
    if quiet:
        for s in states:
            click.echo(s.id)
        return
    click.echo(f"{'ID':<32} {'PID':>8} {'STATUS':<10} BUNDLE")
    for s in states:
        click.echo(f"{s.id:<32} {s.pid or 0:>8} {s.status:<10} {s.bundle}")


@runtime.command()
@click.argument("container_id")
@click.pass_context
def ps(ctx: click.Context, container_id: str) -> None:
    """Host pids of the container's processes."""
    for pid in _rt(ctx).ps(container_id):
        click.echo(str(pid))


@runtime.command()
@click.argument("container_id")
@click.pass_context
def pause(ctx: click.Context, container_id: str) -> None:
    """Freeze every process of the container."""
    _rt(ctx).pause(container_id)


@runtime.command()
@click.argument("container_id")
@click.pass_context
def resume(ctx: click.Context, container_id: str) -> None:
    """Thaw a paused container."""
    _rt(ctx).resume(container_id)


@runtime.command()
@click.argument("container_id")
@click.option("-r", "--resources", "resources_file", required=True, type=click.Path(dir_okay=False),
              help="OCI linux.resources JSON ('-' for stdin).")
@click.pass_context
def update(ctx: click.Context, container_id: str, resources_file: str) -> None:
    """Change a running container's resource limits."""
    raw = sys.stdin.read() if resources_file == "-" else Path(resources_file).read_text()
    try:
        res = json.loads(raw)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--resources") from None
    _rt(ctx).update(container_id, res)


@runtime.command()
@click.argument("container_id")
@click.option("--stats", "once", is_flag=True, help="Print the statistics once and exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between samples.")
@click.pass_context
def events(ctx: click.Context, container_id: str, once: bool, interval: float) -> None:
    """Resource statistics of a container as JSON lines."""
    import time

    rt = _rt(ctx)
    while True:
        click.echo(json.dumps({"type": "stats", "id": container_id, "data": rt.stats(container_id)}))
        if once or rt.state(container_id).status == "stopped":
            return
        time.sleep(interval)
