"""``pystack exec`` and ``pystack run``: a command in a running container, or a one-off container."""

from __future__ import annotations

import sys

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions
from orchestrator.cli.run_flow import env_pairs


def _no_such_option(service: str) -> None:
    """Options after SERVICE belong to the command run, so unknown ones are let through by click;
    one before SERVICE is ours, and unknown: refused as such, not looked up as a service."""
    if service.startswith("-"):
        raise click.NoSuchOption(service.split("=", 1)[0])


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
    process = exec_process(ctx, rec, command, env=env_pairs(envs), workdir=workdir, user=user,
                           privileged=privileged)
    tty = not no_tty and sys.stdin.isatty() and sys.stdout.isatty()
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    code = rt.exec(rec.id, process, tty=tty, detach=detach, stdin=sys.stdin.fileno(), stdout=sys.stdout.fileno(),
                   stderr=sys.stderr.fileno())
    sys.exit(0 if detach else code)


def _label_pairs(labels: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in labels:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise click.BadParameter(f"expected KEY=VAL, got {item!r}", param_hint="'-l' / '--label'")
        out[key] = value
    return out


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
    from orchestrator.cli.run_flow import RunRequest, run_one_off

    req = RunRequest(
        service=service, command=command, remove=remove, detach=detach, envs=envs, env_files=env_files,
        entrypoint=entrypoint, no_deps=no_deps, no_tty=no_tty, interactive=interactive, user=user, workdir=workdir,
        name=name, volumes=volumes, publish=publish, service_ports=service_ports, use_aliases=use_aliases,
        cap_add=cap_add, cap_drop=cap_drop, build=build, pull=pull, quiet_pull=quiet_pull, quiet_build=quiet_build,
        quiet=quiet, remove_orphans=remove_orphans, labels=_label_pairs(labels))
    sys.exit(run_one_off(opts, req))


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
