"""``pystack ps`` and ``pystack ls``: what runs, read from the state (no heavy imports)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import click

from orchestrator.cli import project as proj
from orchestrator.cli.durations import human_duration
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from orchestrator.state.containers import ContainerRecord


def _status_text(r: object, now: float | None = None) -> str:
    """The STATUS column as ``docker ps`` (and so Compose) writes it: scripts and people read
    ``Up 3 minutes (healthy)``, ``Up 5 seconds (Paused)``, ``Exited (0) 2 hours ago``."""
    from orchestrator.state.containers import ContainerRecord

    assert isinstance(r, ContainerRecord)
    now = time.time() if now is None else now
    if r.status in ("running", "paused"):
        text = f"Up {human_duration(now - r.started_at)}" if r.started_at else "Up"
        if r.status == "paused":
            return f"{text} (Paused)"
        if r.health:
            return f"{text} ({'health: starting' if r.health == 'starting' else r.health})"
        return text
    if r.status == "exited":
        code = r.exit_code if r.exit_code is not None else "?"
        ago = f" {human_duration(now - r.finished_at)} ago" if r.finished_at else ""
        return f"Exited ({code}){ago}{' OOMKilled' if r.oom_killed else ''}"
    return r.status.capitalize()


_LIVE = ("running", "paused", "restarting")
_INIT = "/sbin/docker-init"  # runtime.config_builder.INIT_PATH, not imported: ps stays light
Bound = dict[str, list[tuple[str, int, int, str]]]  # container id -> (host ip, host port, port, protocol)


def _bound(conn: sqlite3.Connection, project: str) -> Bound:
    """The host ports the stack's containers hold now (a range or an ephemeral port picked at start)."""
    import sqlite3

    out: Bound = {}
    try:
        rows = conn.execute("SELECT container_id, host_ip, host_port, container_port, protocol FROM net_ports "
                            "WHERE project=? ORDER BY rowid", (project,)).fetchall()
    except sqlite3.OperationalError:  # no network was ever made here
        return out
    for cid, host_ip, host_port, port, proto in rows:
        out.setdefault(cid, []).append((host_ip, host_port, port, proto))
    return out


def _port_entries(r: ContainerRecord, bound: Bound) -> list[tuple[str, int, int, str]]:
    """(URL, target, published port, protocol) as ``docker ps`` lists a container's ports: only while
    it runs; each published port with the host port it got, the others (and ``expose``) bare."""
    if r.status not in _LIVE:
        return []
    svc = r.spec.get("service") or {}
    held = bound.get(r.id, [])
    out: list[tuple[str, int, int, str]] = []
    for p in svc.get("ports") or []:
        proto = p.get("protocol", "tcp")
        mine = [b for b in held if b[2] == p["target"] and b[3] == proto]
        out.extend((ip, port, host_port, proto) for ip, host_port, port, _ in mine)
        if not mine:
            out.append(("", p["target"], 0, proto))
    for e in svc.get("expose") or []:
        port, _, proto = str(e).partition("/")
        first = port.split("-")[0]
        if first.isdigit() and not any(o[1] == int(first) and o[3] == (proto or "tcp") for o in out):
            out.append(("", int(first), 0, proto or "tcp"))
    return out


def _ports(entries: list[tuple[str, int, int, str]]) -> str:
    return ", ".join(f"{url}:{pub}->{target}/{proto}" if pub else f"{target}/{proto}"
                     for url, target, pub, proto in entries)


def _command(r: ContainerRecord, container_dir: Path) -> str:
    """What the container runs (its process's arguments: the image's entrypoint and command when the
    service names none), joined as ``docker ps`` joins them."""
    try:
        args = json.loads((container_dir / "config.json").read_text())["process"]["args"]
        if args[:2] == [_INIT, "--"]:  # ``init: true``: docker ps shows what the init runs
            args = args[2:]
    except (OSError, ValueError, KeyError, TypeError):
        svc = r.spec.get("service") or {}
        args = [*(svc.get("entrypoint") or []), *(svc.get("command") or [])]
    # docker's own join: an argument with a space is wrapped in single quotes, nothing is escaped
    return " ".join(f"'{a}'" if " " in str(a) else str(a) for a in args)


def _ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def labels_of(r: ContainerRecord) -> dict[str, str]:
    """The container's labels as Compose sets them: its own project, service, number and whether it
    is a one-off, then the service's ``labels`` (a ``run -l`` one-off's included)."""
    svc = r.spec.get("service") or {}
    out = {"com.docker.compose.project": r.project, "com.docker.compose.service": r.service,
           "com.docker.compose.container-number": str(r.number),
           "com.docker.compose.oneoff": "True" if r.one_off else "False"}
    out.update({str(k): str(v) for k, v in (svc.get("labels") or {}).items()})
    return out


def _labels(r: ContainerRecord) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels_of(r).items()))


def _publishers(entries: list[tuple[str, int, int, str]]) -> list[dict[str, object]]:
    return [{"URL": url, "TargetPort": target, "PublishedPort": pub, "Protocol": proto}
            for url, target, pub, proto in entries]


STATUSES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")


def _filter_statuses(filters: tuple[str, ...]) -> list[str]:
    """``--filter status=running``: the one filter Compose's ``ps`` has."""
    out = []
    for f in filters:
        key, sep, value = f.partition("=")
        if not sep or key != "status":
            raise click.BadParameter(f"{f!r}: the only filter is status=STATUS", param_hint="--filter")
        if value not in STATUSES:
            raise click.BadParameter(f"{value!r} is not one of {', '.join(STATUSES)}", param_hint="--filter")
        out.append(value)
    return out


@click.command()
@click.argument("services", nargs=-1)
@click.option("-a", "--all", "show_all", is_flag=True,
              help="Show all stopped containers (including those created by the run command).")
@click.option("-q", "--quiet", is_flag=True, help="Only display IDs.")
@click.option("--services", "only_services", is_flag=True, help="Display services.")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Filter services by status (repeatable).")
@click.option("--filter", "filters", multiple=True, metavar="status=STATUS",
              help="Filter services by a property (status).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Format the output.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.pass_obj
def ps(opts: GlobalOptions, services: tuple[str, ...], show_all: bool, quiet: bool, only_services: bool,
       statuses: tuple[str, ...], filters: tuple[str, ...], fmt: str, no_trunc: bool) -> None:
    """List the stack's containers."""
    from orchestrator.errors import PystackError
    from orchestrator.reconcile.engine import observe

    wanted = [*statuses, *_filter_statuses(filters)]
    name, stack = proj.project_name(opts)
    ctx = proj.context(opts)
    recs = observe(ctx, name, one_off=True)
    if services:
        known = set(stack.services) if stack is not None else set()
        unknown = [s for s in services if s not in known and s not in {r.service for r in recs}]
        if unknown:
            raise PystackError(f"no such service: {', '.join(unknown)}")
        recs = [r for r in recs if r.service in services]
    if wanted:
        recs = [r for r in recs if r.status in wanted]
    elif not show_all:
        recs = [r for r in recs if r.status in ("running", "paused")]  # as docker ps: created ones need -a
    if quiet:
        for r in recs:
            click.echo(r.id)
        return
    if only_services:
        for s in sorted({r.service for r in recs}):
            click.echo(s)
        return
    rows = []
    now = time.time()
    bound = _bound(ctx.db(), name) if recs else {}
    for r in recs:
        entries = _port_entries(r, bound)
        rows.append({
            "ID": r.id, "Name": r.name, "Image": r.image, "Command": _command(r, ctx.paths.container(r.id)),
            "Service": r.service,
            "Created": human_duration(now - r.created_at) + " ago", "Status": _status_text(r, now), "State": r.status,
            "Health": r.health or "", "ExitCode": r.exit_code, "Ports": _ports(entries),
            # Compose's other fields that scripts read (jq '.Project'): the same facts, named as there
            "Names": r.name, "Project": r.project, "Labels": _labels(r),
            "RunningFor": human_duration(now - r.created_at) + " ago",
            "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(r.created_at)),
            "Publishers": _publishers(entries),
        })
    if fmt == "json":  # JSON Lines, one object per container, as Compose's since v2.21 (and docker ps)
        for row in rows:
            click.echo(json.dumps(row))
        return
    for row in rows:  # the table quotes the command, cut to 20 characters unless --no-trunc, as docker ps
        row["Command"] = json.dumps(row["Command"] if no_trunc else _ellipsis(str(row["Command"]), 20),
                                    ensure_ascii=False)
    cols = ["Name", "Image", "Command", "Service", "Created", "Status", "Ports"]
    widths = {c: max([len(c)] + [len(str(row[c])) for row in rows]) for c in cols}
    click.echo("   ".join(c.upper().ljust(widths[c]) for c in cols).rstrip())
    for row in rows:
        click.echo("   ".join(str(row[c]).ljust(widths[c]) for c in cols).rstrip())


@click.command(name="ls")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all stopped Compose projects.")
@click.option("-q", "--quiet", is_flag=True, help="Only display project names.")
@click.option("--filter", "filters", multiple=True, metavar="name=TEXT",
              help="Filter output based on conditions provided (name=TEXT: names containing TEXT).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Format the output.")
@click.pass_obj
def ls(opts: GlobalOptions, show_all: bool, quiet: bool, filters: tuple[str, ...], fmt: str) -> None:
    """List the stacks on this host."""
    from orchestrator.state import containers as cstate

    names = []
    for f in filters:
        key, sep, value = f.partition("=")
        if not sep or key != "name":
            raise click.BadParameter(f"{f!r}: the only filter is name=TEXT", param_hint="--filter")
        names.append(value)
    ctx = proj.context(opts)
    conn = ctx.db()
    rows = []
    for st in cstate.stacks(conn):
        if not all(n in st["project"] for n in names):
            continue
        recs = cstate.for_project(conn, st["project"])
        counts: dict[str, int] = {}
        for r in recs:
            counts[r.status] = counts.get(r.status, 0) + 1
        if not show_all and not counts.get("running"):
            continue
        status = ", ".join(f"{k}({v})" for k, v in sorted(counts.items())) or "empty"
        rows.append({"Name": st["project"], "Status": status, "ConfigFiles": ",".join(st["config_files"])})
    if quiet:
        for row in rows:
            click.echo(row["Name"])
    elif fmt == "json":
        click.echo(json.dumps(rows))
    else:
        click.echo(f"{'NAME':<20} {'STATUS':<24} CONFIG FILES")
        for row in rows:
            click.echo(f"{row['Name']:<20} {row['Status']:<24} {row['ConfigFiles']}")
