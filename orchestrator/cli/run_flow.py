"""What ``run`` does once its command line is read: a one-off container of a service, followed to
its end or left running.

It imports no click, so that both ways of reading ``run``'s command line run the same code: the
click command (:mod:`orchestrator.cli.exec_cmd`) and the click-free reader
(:mod:`orchestrator.cli.run_argv`) of the forms scripts run again and again (``run --rm SERVICE
CMD``, ``run -d``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.cli import project as proj
from orchestrator.cli.echo import echo
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from orchestrator.reconcile.context import Context
    from orchestrator.reconcile.desired import MountPlan, PortPlan
    from orchestrator.runtime.api import Runtime
    from orchestrator.runtime.console_socket import ConsoleSocket
    from orchestrator.spec.models import Stack


@dataclass(frozen=True)
class RunRequest:
    """A ``run`` as its flags ask for it, with the values they default to."""
    service: str
    command: tuple[str, ...] = ()
    remove: bool = False
    detach: bool = False
    envs: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    entrypoint: str | None = None
    no_deps: bool = False
    no_tty: bool = False
    interactive: bool = True
    user: str | None = None
    workdir: str | None = None
    name: str | None = None
    volumes: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()
    service_ports: bool = False
    use_aliases: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    build: bool = False
    pull: str = "policy"
    quiet_pull: bool = False
    quiet_build: bool = False
    quiet: bool = False
    remove_orphans: bool = False
    labels: dict[str, str] = field(default_factory=dict)


def run_one_off(opts: GlobalOptions, req: RunRequest) -> int:
    """Run a one-off container of ``req.service`` and return the command's exit status: the
    container's, or 0 once a detached one has started (its name printed)."""
    service, command, remove, detach = req.service, req.command, req.remove, req.detach
    extra_labels = dict(req.labels)
    environment = {**_env_from_files(req.env_files), **env_pairs(req.envs)}  # a bad file fails before anything
    import shlex

    from orchestrator.errors import PystackError
    from orchestrator.network.service import ensure_service, notify_service, spawn_service
    from orchestrator.plan.planner import PlanOptions
    from orchestrator.reconcile import lifecycle, stack_ops
    from orchestrator.reconcile.logs import Follower
    from orchestrator.state import containers as cstate

    stack = proj.load(opts, targets=(service,))
    if service not in stack.services:
        raise PystackError(f"no such service: {service}")
    ctx = proj.context(opts)
    report = proj.reporter(opts) if not req.quiet else (lambda _line: None)
    if req.remove_orphans:
        with proj.stack_lock(ctx.paths, stack.name):
            _remove_orphans(ctx, stack, report)
    if not req.no_deps:
        deps = [d for d in stack.services[service].dependencies() if d in stack.services]
        if deps:
            up_opts = stack_ops.UpOptions(services=tuple(deps), plan=PlanOptions(), quiet_build=req.quiet_build)
            with proj.stack_lock(ctx.paths, stack.name):
                sp_, plan = stack_ops.prepare(ctx, stack, up_opts, report)
                stack_ops.up(ctx, stack, sp_, plan, up_opts, report)
    images = stack_ops.ensure_images(ctx, stack, stack_ops.UpOptions(
        services=(service,), pull=None if req.pull == "policy" else req.pull, build=True if req.build else None,
        quiet_pull=req.quiet_pull, quiet_build=req.quiet_build), report)
    if detach:
        stack_ops.prestart_runtime(ctx)
    else:
        # The container lives as long as this command waits for it: its monitor is forked from
        # here rather than from a zygote that would take ~60 ms to boot for this one container.
        rt_ = ctx.runtime()
        if hasattr(rt_, "use_zygote"):
            rt_.use_zygote = False
    fresh_networks = False  # the service listens on a new gateway only after a re-read
    for spec in stack_ops.network_specs(stack):
        fresh_networks = fresh_networks or ctx.network.get_network(spec.name) is None
        ctx.network.ensure_network(spec)
    sp = stack_ops.service_plan(stack, service, images)
    if not req.service_ports:
        sp.ports = []
    sp.ports = sp.ports + [_publish(p) for p in req.publish]
    sp.mounts = sp.mounts + [_volume(v, stack.working_dir) for v in req.volumes]
    sp.container_name = None
    sp.restart = type(sp.restart)()  # one-off containers never restart
    sp.use_aliases = req.use_aliases
    sp.cap_add = [*sp.cap_add, *req.cap_add]
    sp.cap_drop = [*sp.cap_drop, *req.cap_drop]
    # what ps shows of the one-off: the ports it publishes (none of the service's without -P)
    sp.spec = {**sp.spec, "ports": [{"target": p.target, "published": p.published, "host_ip": p.host_ip,
                                     "protocol": p.protocol} for p in sp.ports]}
    if extra_labels:  # the one-off's own, over the service's: what ps shows of it
        sp.labels = {**sp.labels, **extra_labels}
        sp.spec = {**sp.spec, "labels": {**(sp.spec.get("labels") or {}), **extra_labels}}
    overrides: dict[str, object] = {"environment": environment}
    if command:
        overrides["command"] = list(command)
    if req.entrypoint is not None:
        overrides["entrypoint"] = shlex.split(req.entrypoint)
    if req.user:
        overrides["user"] = req.user
    if req.workdir:
        overrides["working_dir"] = req.workdir
    from orchestrator import naming

    cname = req.name or naming.one_off_name(stack.name, service, os.urandom(6).hex())
    # DNS (the gateway is the container's nameserver) and published ports are the stack's network
    # service's job; a stack that was never up has none running yet
    serve = sp.network_mode not in ("host", "none")
    if serve:
        spawn_service(ctx.paths, stack.name, host_netns=ctx.host_netns)
    # As Compose's run (interactive by default): a terminal gets a pty of the container's own,
    # and without one `run -T db psql < dump.sql` still feeds the container.
    tty = not (detach or req.no_tty) and req.interactive and sys.stdin.isatty() and sys.stdout.isatty()
    overrides["tty"] = tty  # run decides, not the service's tty: key (as Compose's run)
    overrides["stdin_open"] = req.interactive  # -i, on by default: a detached one-off's input stays open
    with _console_listener(enabled=tty) as console:
        rec = lifecycle.create(ctx, sp, 1, one_off=True, name=cname, overrides=overrides,
                               attach_stdin=req.interactive and not detach and not tty,
                               console_socket=console.path if console else None,
                               remove_if_orphaned=remove and not detach)
        try:
            master = console.receive() if console else None
        except PystackError:
            lifecycle.remove(ctx, rec, timeout=0, anonymous="delete")  # never started: nothing to keep
            raise
    if serve:  # the start gate, as in up: names answered and ports held before PID 1 runs
        ensure_service(ctx.paths, stack.name, host_netns=ctx.host_netns)
        if fresh_networks or sp.ports:  # names themselves are looked up live, without a re-read
            notify_service(ctx.paths, stack.name)
    if detach and remove:
        lifecycle.remove_on_exit(ctx, rec)
    lifecycle.start(ctx, rec)
    if detach:
        if remove:  # the stack's supervisor removes it when it ends
            from orchestrator.reconcile import supervisor_client

            supervisor_client.ensure(ctx.paths, stack.name, host_netns=ctx.host_netns)
        echo(rec.name)
        return 0
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    proxy_signals(rt, rec.id)
    if master is not None:
        from orchestrator.runtime import terminal

        # what it prints recorded for logs too, as stdout, as Docker records a tty container
        terminal.relay(master, rt.state(rec.id).pid, lifecycle.open_log(ctx, rec))
        ended = rt.wait(rec.id)
        code = ended.code if ended is not None else 1
        cstate.record_exit(ctx.db(), rec.id, exit_code=code)
        if remove:
            lifecycle.remove(ctx, rec, timeout=0, anonymous="delete")
        return code
    follower = Follower(ctx.paths.container(rec.id) / "log.json")
    code = 0
    try:
        while True:
            for r in follower.poll():
                stream = sys.stderr if r.stream == "stderr" else sys.stdout
                stream.write(r.text)
                stream.flush()
            status = rt.wait(rec.id, timeout=0.05)
            if status is not None:  # the monitor has left: the log is complete
                for r in follower.poll():
                    (sys.stderr if r.stream == "stderr" else sys.stdout).write(r.text)
                sys.stdout.flush()
                code = status.code
                cstate.record_exit(ctx.db(), rec.id, exit_code=code)
                break
    except KeyboardInterrupt:
        lifecycle.stop(ctx, rec, timeout=0)
        code = 130
    if remove:
        lifecycle.remove(ctx, rec, timeout=0, anonymous="delete")  # as docker run --rm
    return code


def env_pairs(values: tuple[str, ...]) -> dict[str, str]:
    """``-e KEY=VAL`` of ``run`` and ``exec``; a bare ``-e KEY`` passes this command's own value on."""
    out = {}
    for v in values:
        k, sep, val = v.partition("=")
        out[k] = val if sep else os.environ.get(k, "")
    return out


def _env_from_files(files: tuple[str, ...]) -> dict[str, str]:
    """``run --env-from-file``: each file read as a service's ``env_file`` is (dotenv lines, ``${VAR}``
    from this command's environment), later files winning; a bad one is an error at its line."""
    if not files:
        return {}
    from orchestrator.spec.dotenv import read_env_file  # with its interpolation: only when a file is given

    out: dict[str, str] = {}
    for name in files:
        out.update(read_env_file(Path(name), display=name))
    return out


def _publish(spec: str) -> PortPlan:
    """``-p [HOST_IP:][HOST_PORT[-LAST]:]CONTAINER_PORT[/PROTO]`` for a one-off container."""
    from orchestrator.errors import PystackError
    from orchestrator.reconcile.translate import port_plan

    body, _, proto = spec.partition("/")
    parts = body.rsplit(":", 2)
    host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
    published = parts[-2] if len(parts) >= 2 else ""
    try:
        return port_plan(int(parts[-1]), published or None, host_ip, proto or "tcp")
    except ValueError:
        raise PystackError(f"run -p {spec!r}: expected [HOST_IP:][HOST_PORT[-LAST]:]CONTAINER_PORT[/PROTO]") from None


def _volume(spec: str, working_dir: Path) -> MountPlan:
    """``-v SOURCE:TARGET[:ro]``: a path source is a bind (relative to the project), a name is a volume."""
    from orchestrator.errors import PystackError
    from orchestrator.reconcile.desired import MountPlan

    parts = spec.split(":")
    if len(parts) < 2 or not parts[1].startswith("/"):
        raise PystackError(f"run -v {spec!r}: expected SOURCE:TARGET[:ro]")
    src, target, mode = parts[0], parts[1], parts[2] if len(parts) > 2 else "rw"
    if src.startswith((".", "/", "~")):
        path = (working_dir / os.path.expanduser(src)).resolve()
        return MountPlan("bind", str(path), target, read_only=mode == "ro")
    return MountPlan("volume", src, target, read_only=mode == "ro")


@contextlib.contextmanager
def _console_listener(*, enabled: bool) -> Iterator[ConsoleSocket | None]:
    """Where the runtime sends the master of the container's pty, while ``run`` creates it."""
    if not enabled:
        yield None
        return
    from orchestrator.runtime.console_socket import ConsoleSocket

    console = ConsoleSocket()
    try:
        yield console
    finally:
        console.close()


PROXIED_SIGNALS = ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def _remove_orphans(ctx: Context, stack: Stack, report: Callable[[str], None]) -> None:
    """``run --remove-orphans``: the containers of services the file no longer defines (a service
    only left out by a profile is still defined), stopped and removed as ``up --remove-orphans`` does."""
    from orchestrator.reconcile import lifecycle
    from orchestrator.state import containers as cstate

    defined = set(stack.services) | set(stack.disabled_services)
    for rec in cstate.for_project(ctx.db(), stack.name, include_one_off=False):
        if rec.service not in defined:
            lifecycle.remove(ctx, rec, timeout=None, report=report)
            report(f"Container {rec.name}  Removed")


def proxy_signals(rt: Runtime, container_id: str, names: tuple[str, ...] = PROXIED_SIGNALS) -> None:
    """What a foreground ``run`` is sent, its container's PID 1 is sent, as by ``docker run``'s
    ``--sig-proxy`` (on by default); the command goes on waiting for PID 1 and its exit code.

    Without this a ``kill`` of the command (a CI job cancelled, a ``timeout``) ended the command
    alone and left its container running, never removed for ``--rm``. Ctrl-C (SIGINT) stays the
    command's own: it stops the container, since a PID 1 without a handler ignores SIGINT.
    """
    import signal

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(Exception):  # PID 1 already gone: the wait below sees it
            rt.kill(container_id, signum)

    for name in names:
        signal.signal(getattr(signal, name), forward)
