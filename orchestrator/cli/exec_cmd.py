"""``pystack exec`` and ``pystack run``: a command in a running container, or a one-off container."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from orchestrator.reconcile.context import Context
    from orchestrator.reconcile.desired import MountPlan, PortPlan
    from orchestrator.runtime.api import Runtime
    from orchestrator.runtime.console_socket import ConsoleSocket
    from orchestrator.spec.models import Stack


def _no_such_option(service: str) -> None:
    """Options after SERVICE belong to the command run, so unknown ones are let through by click;
    one before SERVICE is ours, and unknown: refused as such, not looked up as a service."""
    if service.startswith("-"):
        raise click.NoSuchOption(service.split("=", 1)[0])


def _env_pairs(values: tuple[str, ...]) -> dict[str, str]:
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


@click.command(name="exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("service")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-T", "--no-tty", is_flag=True, help="Do not allocate a TTY.")
@click.option("-u", "--user", default=None, help="Run the command as this user.")
@click.option("-e", "--env", "envs", multiple=True, metavar="KEY=VAL", help="Set environment variables.")
@click.option("-w", "--workdir", default=None, help="Path to workdir directory for this command.")
@click.option("--index", type=click.IntRange(min=1), default=1, show_default=True,
              help="Index of the container if service has multiple replicas.")
@click.option("-d", "--detach", is_flag=True, help="Detached mode: Run command in the background.")
@click.option("--privileged", is_flag=True, help="Give the command every capability the host can grant.")
@click.pass_obj
def exec_(opts: GlobalOptions, service: str, command: tuple[str, ...], no_tty: bool, user: str | None,
          envs: tuple[str, ...], workdir: str | None, index: int, detach: bool, privileged: bool) -> None:
    """Run a command in a running container of SERVICE."""
    _no_such_option(service)
    from orchestrator.errors import PystackError
    from orchestrator.reconcile.exec_process import exec_process
    from orchestrator.state import containers as cstate

    name, _ = proj.project_name(opts)
    ctx = proj.context(opts)
    recs = [r for r in cstate.for_project(ctx.db(), name, include_one_off=False)
            if r.service == service and r.number == index]
    if not recs or recs[0].status != "running":
        raise PystackError(f"service {service!r} is not running (index {index})")
    rec = recs[0]
    process = exec_process(ctx, rec, command, env=_env_pairs(envs), workdir=workdir, user=user,
                           privileged=privileged)
    tty = not no_tty and sys.stdin.isatty() and sys.stdout.isatty()
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    code = rt.exec(rec.id, process, tty=tty, detach=detach, stdin=sys.stdin.fileno(), stdout=sys.stdout.fileno(),
                   stderr=sys.stderr.fileno())
    sys.exit(0 if detach else code)


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


def _label_pairs(labels: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in labels:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise click.BadParameter(f"expected KEY=VAL, got {item!r}", param_hint="'-l' / '--label'")
        out[key] = value
    return out


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


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("service")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--rm", "remove", is_flag=True, help="Automatically remove the container when it exits.")
@click.option("-d", "--detach", is_flag=True, help="Run container in background and print container ID.")
@click.option("-e", "--env", "envs", multiple=True, metavar="KEY=VAL", help="Set environment variables.")
@click.option("--env-from-file", "env_files", multiple=True, metavar="FILE",
              help="Set environment variables from a file (KEY=VAL lines, as env_file); -e wins over it.")
@click.option("--entrypoint", default=None, help="Override the entrypoint of the image.")
@click.option("--no-deps", is_flag=True, help="Don't start linked services.")
@click.option("-T", "--no-tty", is_flag=True,
              help="Do not allocate a TTY [one is when this command's input and output are terminals].")
@click.option("-i", "--interactive/--no-interactive", default=True,
              help="The command reads this one's standard input [default: on, unless -d].")
@click.option("-u", "--user", default=None, help="Run as specified username or uid.")
@click.option("-w", "--workdir", default=None, help="Working directory inside the container.")
@click.option("--name", default=None, help="Assign a name to the container.")
@click.option("-v", "--volume", "volumes", multiple=True, metavar="SOURCE:TARGET[:ro]", help="Bind mount a volume.")
@click.option("-p", "--publish", "publish", multiple=True, help="Publish a container's port(s) to the host.")
@click.option("-P", "--service-ports", is_flag=True,
              help="Run command with all service's ports enabled and mapped to the host.")
@click.option("--use-aliases", is_flag=True,
              help="Use the service's network aliases in the network(s) the container connects to.")
@click.option("--cap-add", multiple=True, metavar="CAP", help="Add Linux capabilities.")
@click.option("--cap-drop", multiple=True, metavar="CAP", help="Drop Linux capabilities.")
@click.option("--build", is_flag=True, help="Build image before starting container.")
@click.option("--pull", type=click.Choice(["always", "missing", "never", "policy"]), default="policy",
              show_default=True, help="Pull image before running; \"policy\" leaves it to the service's pull_policy.")
@click.option("--quiet-pull", is_flag=True, help="Pull without printing progress information.")
@click.option("--quiet-build", is_flag=True, help="Suppress progress output from the build process.")
@click.option("-q", "--quiet", is_flag=True,
              help="Don't print anything to STDOUT (no progress: pulls, builds, dependencies).")
@click.option("--remove-orphans", is_flag=True, envvar="COMPOSE_REMOVE_ORPHANS",
              help="Remove containers for services not defined in the Compose file.")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VAL", help="Add or override a label.")
@click.pass_obj
def run(opts: GlobalOptions, service: str, command: tuple[str, ...], remove: bool, detach: bool,
        envs: tuple[str, ...], env_files: tuple[str, ...], entrypoint: str | None, no_deps: bool, no_tty: bool,
        interactive: bool, user: str | None, workdir: str | None, name: str | None, volumes: tuple[str, ...],
        publish: tuple[str, ...], service_ports: bool, use_aliases: bool, cap_add: tuple[str, ...],
        cap_drop: tuple[str, ...], build: bool, pull: str, quiet_pull: bool, quiet_build: bool, quiet: bool,
        remove_orphans: bool, labels: tuple[str, ...]) -> None:
    """Run a one-off command in a new container of SERVICE."""
    _no_such_option(service)
    extra_labels = _label_pairs(labels)
    environment = {**_env_from_files(env_files), **_env_pairs(envs)}  # a bad file fails before anything starts
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
    report = proj.reporter(opts) if not quiet else (lambda _line: None)
    if remove_orphans:
        with proj.stack_lock(ctx.paths, stack.name):
            _remove_orphans(ctx, stack, report)
    if not no_deps:
        deps = [d for d in stack.services[service].dependencies() if d in stack.services]
        if deps:
            up_opts = stack_ops.UpOptions(services=tuple(deps), plan=PlanOptions(), quiet_build=quiet_build)
            with proj.stack_lock(ctx.paths, stack.name):
                sp_, plan = stack_ops.prepare(ctx, stack, up_opts, report)
                stack_ops.up(ctx, stack, sp_, plan, up_opts, report)
    images = stack_ops.ensure_images(ctx, stack, stack_ops.UpOptions(
        services=(service,), pull=None if pull == "policy" else pull, build=True if build else None,
        quiet_pull=quiet_pull, quiet_build=quiet_build), report)
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
    if not service_ports:
        sp.ports = []
    sp.ports = sp.ports + [_publish(p) for p in publish]
    sp.mounts = sp.mounts + [_volume(v, stack.working_dir) for v in volumes]
    sp.container_name = None
    sp.restart = type(sp.restart)()  # one-off containers never restart
    sp.use_aliases = use_aliases
    sp.cap_add = [*sp.cap_add, *cap_add]
    sp.cap_drop = [*sp.cap_drop, *cap_drop]
    # what ps shows of the one-off: the ports it publishes (none of the service's without -P)
    sp.spec = {**sp.spec, "ports": [{"target": p.target, "published": p.published, "host_ip": p.host_ip,
                                     "protocol": p.protocol} for p in sp.ports]}
    if extra_labels:  # the one-off's own, over the service's: what ps shows of it
        sp.labels = {**sp.labels, **extra_labels}
        sp.spec = {**sp.spec, "labels": {**(sp.spec.get("labels") or {}), **extra_labels}}
    overrides: dict[str, object] = {"environment": environment}
    if command:
        overrides["command"] = list(command)
    if entrypoint is not None:
        overrides["entrypoint"] = shlex.split(entrypoint)
    if user:
        overrides["user"] = user
    if workdir:
        overrides["working_dir"] = workdir
    from orchestrator import naming

    cname = name or naming.one_off_name(stack.name, service, os.urandom(6).hex())
    # DNS (the gateway is the container's nameserver) and published ports are the stack's network
    # service's job; a stack that was never up has none running yet
    serve = sp.network_mode not in ("host", "none")
    if serve:
        spawn_service(ctx.paths, stack.name, host_netns=ctx.host_netns)
    # As Compose's run (interactive by default): a terminal gets a pty of the container's own,
    # and without one `run -T db psql < dump.sql` still feeds the container.
    tty = not (detach or no_tty) and interactive and sys.stdin.isatty() and sys.stdout.isatty()
    overrides["tty"] = tty  # run decides, not the service's tty: key (as Compose's run)
    overrides["stdin_open"] = interactive  # -i, on by default: a detached one-off's input stays open
    with _console_listener(enabled=tty) as console:
        rec = lifecycle.create(ctx, sp, 1, one_off=True, name=cname, overrides=overrides,
                               attach_stdin=interactive and not detach and not tty,
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
        click.echo(rec.name)
        return
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
        sys.exit(code)
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
    sys.exit(code)


@click.command()
@click.argument("service")
@click.argument("private_port")
@click.option("--protocol", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True, help="tcp or udp.")
@click.option("--index", type=click.IntRange(min=1), default=1, show_default=True,
              help="Index of the container if service has multiple replicas.")
@click.pass_obj
def port(opts: GlobalOptions, service: str, private_port: str, protocol: str, index: int) -> None:
    """Print the public address of a port binding."""
    from orchestrator.errors import PystackError
    from orchestrator.network.ports import lookup_binding
    from orchestrator.state import containers as cstate

    name, _ = proj.project_name(opts)
    ctx = proj.context(opts)
    number, _, proto = private_port.partition("/")
    if not number.isdigit() or proto not in ("", "tcp", "udp"):
        raise click.BadParameter(f"expected PORT[/PROTOCOL], got {private_port!r}", param_hint="PRIVATE_PORT")
    target = int(number)
    protocol = proto or protocol
    recs = [r for r in cstate.for_project(ctx.db(), name, include_one_off=False)
            if r.service == service and r.number == index]
    binding = lookup_binding(ctx.db(), name, recs[0].name, target, protocol) if recs else None
    if binding is None:
        raise PystackError(f"no port {target}/{protocol} published for service {service!r}")
    click.echo(f"{binding.host_ip}:{binding.host_port}")


@click.command()
@click.argument("services", nargs=-1)
@click.pass_obj
def top(opts: GlobalOptions, services: tuple[str, ...]) -> None:
    """Show the processes running in each container."""
    from orchestrator.cli import process_table
    from orchestrator.errors import PystackError
    from orchestrator.state import containers as cstate

    name, stack = proj.project_name(opts)
    ctx = proj.context(opts)
    recs = cstate.for_project(ctx.db(), name)
    unknown = [s for s in services if (stack is None or s not in stack.services) and s not in {r.service for r in recs}]
    if unknown:
        raise PystackError(f"no such service: {', '.join(unknown)}")
    for r in recs:
        if r.status != "running" or (services and r.service not in services):
            continue
        rows = process_table.read_rows(ctx.runtime(None if r.runtime == "pystack" else r.runtime).ps(r.id))
        click.echo(r.name)
        for line in process_table.render(rows):
            click.echo(line)
        click.echo("")
