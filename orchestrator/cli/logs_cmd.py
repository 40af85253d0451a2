"""``pystack logs``: the containers' JSON logs, merged by time, optionally followed."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions


def _parse_time(value: str | None) -> float | None:
    if value is None:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", value)
    if m:
        return time.time() - float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not a time or duration: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@click.command()
@click.argument("services", nargs=-1)
@click.option("-f", "--follow", is_flag=True)
@click.option("-t", "--timestamps", is_flag=True)
@click.option("--tail", default="all")
@click.option("--since", default=None)
@click.option("--until", default=None)
@click.option("--no-color", is_flag=True)
@click.option("--no-log-prefix", is_flag=True)
@click.option("--index", type=int, default=None)
@click.pass_obj
def logs(opts: GlobalOptions, services: tuple[str, ...], follow: bool, timestamps: bool, tail: str,
         since: str | None, until: str | None, no_color: bool, no_log_prefix: bool, index: int | None) -> None:
    """Show the output of the stack's containers."""
    from orchestrator.reconcile.logs import Follower, LogRecord, Printer, read_records
    from orchestrator.state import containers as cstate

    name, _ = proj.project_name(opts)
    ctx = proj.context(opts)
    t_since, t_until = _parse_time(since), _parse_time(until)

    def selected() -> list[cstate.ContainerRecord]:
        recs = cstate.for_project(ctx.db(), name)
        if services:
            recs = [r for r in recs if r.service in services]
        if index is not None:
            recs = [r for r in recs if r.number == index]
        return recs

    recs = selected()
    label = {r.id: r.name.removeprefix(f"{name}-") for r in recs}
    printer = Printer(list(label.values()), colour=proj.colour(opts, no_color), prefix=not no_log_prefix,
                      timestamps=timestamps)
    merged: list[tuple[float, str, LogRecord]] = []
    for r in recs:
        items = list(read_records(ctx.paths.container(r.id) / "log.json"))
        if tail != "all":
            n = int(tail)
            items = items[-n:] if n > 0 else []
        for rec in items:
            ts = rec.timestamp
            if (t_since and ts < t_since) or (t_until and ts > t_until):
                continue
            merged.append((ts, r.id, rec))
    merged.sort(key=lambda x: x[0])
    for _, cid, rec in merged:
        printer.write(label[cid], rec)
    if not follow:
        return
    followers = {r.id: Follower(ctx.paths.container(r.id) / "log.json", from_end=True) for r in recs}
    try:
        while True:
            for r in selected():
                if r.id not in followers:
                    label[r.id] = r.name.removeprefix(f"{name}-")
                    printer.add_name(label[r.id])
                    followers[r.id] = Follower(ctx.paths.container(r.id) / "log.json")
            for cid, f in followers.items():
                for rec in f.poll():
                    printer.write(label[cid], rec)
            time.sleep(0.1)
    except KeyboardInterrupt:
        return
