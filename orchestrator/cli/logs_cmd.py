"""``pystack logs``: the containers' JSON logs, merged by time, optionally followed."""

from __future__ import annotations

import time

import click

from orchestrator.cli import project as proj
from orchestrator.cli.durations import parse_time
from orchestrator.cli.options import GlobalOptions


def _tail(value: str) -> int | None:
    """``--tail``: a number of lines, or ``all`` (None)."""
    if value == "all":
        return None
    try:
        n = int(value)
    except ValueError:
        raise click.BadParameter(f"expected a number of lines or \"all\", got {value!r}",
                                 param_hint="--tail") from None
    return max(n, 0)


@click.command()
@click.argument("services", nargs=-1)
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("-n", "--tail", default="all", show_default=True,
              help="Number of lines to show from the end of the logs for each container.")
@click.option("--since", default=None,
              help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes).")
@click.option("--until", default=None,
              help="Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes).")
@click.option("--no-color", is_flag=True, help="Produce monochrome output.")
@click.option("--no-log-prefix", is_flag=True, help="Don't print prefix in logs.")
@click.option("--index", type=int, default=None, help="Index of the container if service has multiple replicas.")
@click.pass_obj
def logs(opts: GlobalOptions, services: tuple[str, ...], follow: bool, timestamps: bool, tail: str,
         since: str | None, until: str | None, no_color: bool, no_log_prefix: bool, index: int | None) -> None:
    """Show the output of the stack's containers."""
    from orchestrator.reconcile.logs import Follower, LogRecord, Printer, read_records
    from orchestrator.state import containers as cstate

    name, _ = proj.project_name(opts)
    ctx = proj.context(opts)
    t_since, t_until, n_tail = parse_time(since), parse_time(until), _tail(tail)

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
    # followers first: the records shown below end where they begin, so a line written meanwhile
    # is shown once, by them
    followers = {r.id: Follower(ctx.paths.container(r.id) / "log.json", from_end=True) for r in recs} if follow \
        else {}
    merged: list[tuple[float, str, LogRecord]] = []
    for r in recs:
        upto = followers[r.id].offset if r.id in followers and followers[r.id].inode is not None else None
        items = list(read_records(ctx.paths.container(r.id) / "log.json", upto=upto))
        if n_tail is not None:
            items = items[-n_tail:] if n_tail > 0 else []
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
    from orchestrator.cli.attach import EXIT_CHECK, exited_for_good
    from orchestrator.reconcile.engine import observe

    next_check = 0.0
    try:
        while True:
            for r in selected():
                if r.id not in followers:
                    label[r.id] = r.name.removeprefix(f"{name}-")
                    printer.add_name(label[r.id])
                    followers[r.id] = Follower(ctx.paths.container(r.id) / "log.json")
            # as docker logs -f and Compose's: done once every container followed has exited for
            # good (none its restart policy will start again), after what they printed last
            ending = False
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + EXIT_CHECK
                live = [r for r in observe(ctx, name, one_off=True) if r.id in followers]
                ending = bool(live) and all(exited_for_good(r) for r in live)
            for cid, f in followers.items():
                for rec in f.poll():
                    printer.write(label[cid], rec)
            if ending:
                time.sleep(0.1)  # a monitor may still be writing out the last lines of its pipe
                for cid, f in followers.items():
                    for rec in f.poll():
                        printer.write(label[cid], rec)
                return
            time.sleep(0.1)
    except KeyboardInterrupt:
        return
