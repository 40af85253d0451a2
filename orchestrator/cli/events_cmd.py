"""``pystack events [SERVICE...]``: the stack's container events as Compose prints them.

As Compose's, it follows: events from now on, until interrupted or ``--until``; ``--since`` first
replays the recorded ones from that time (an RFC 3339 time, a Unix timestamp or a duration back
from now, as Docker reads them), and an ``--until`` already past ends the command once they are
out. The events are the rows pystack records (``state.containers``): create, start, stop, die,
restart, health_status and remove. New ones are looked for every 0.2 s while the command runs.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions

POLL = 0.2


def compose_event(ev: dict[str, Any]) -> dict[str, Any]:
    """Compose's JSON object for one recorded event; pystack's own fields (seq, container, detail) follow."""
    attributes = {"name": ev["container"] or ""}
    detail = ev.get("detail") or ""
    if ev["action"] == "die" and detail.startswith("exit "):
        attributes["exitCode"] = detail[5:]
    return {
        "time": datetime.fromtimestamp(ev["time"]).astimezone().isoformat(),
        "type": "container",
        "service": ev["service"] or "",
        "id": ev.get("container_id") or ev["container"] or "",
        "action": ev["action"],
        "attributes": attributes,
        "seq": ev["seq"],
        "container": ev["container"],
        "detail": detail,
    }


def text_line(event: dict[str, Any], when: float) -> str:
    stamp = datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M:%S.%f")
    attrs = ", ".join(f"{k}={v}" for k, v in sorted(event["attributes"].items()))
    return f"{stamp} container {event['action']} {event['id']} ({attrs})"


@click.command()
@click.argument("services", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Output events as a stream of json objects.")
@click.option("--since", default=None, help="Show all events created since timestamp.")
@click.option("--until", default=None, help="Stream events until this timestamp.")
@click.option("-f", "--follow", is_flag=True, hidden=True, help="Accepted for older scripts: events always follow.")
@click.pass_obj
def events(opts: GlobalOptions, services: tuple[str, ...], as_json: bool, since: str | None, until: str | None,
           follow: bool) -> None:
    """Receive real time events from containers."""
    import json

    from orchestrator.cli.durations import parse_time
    from orchestrator.state import containers as cstate

    del follow
    t_since, t_until = parse_time(since), parse_time(until)
    name, _ = proj.project_name(opts)
    ctx = proj.context(opts)
    conn = ctx.db()
    seq = 0
    if t_since is None:  # from now on: skip what is already recorded
        row = conn.execute("SELECT MAX(seq) FROM events WHERE project=?", (name,)).fetchone()
        seq = int(row[0] or 0)
    wanted = set(services)
    try:
        while True:
            for ev in cstate.events_since(conn, name, seq):
                seq = ev["seq"]
                if t_until is not None and ev["time"] > t_until:
                    return
                if (t_since is not None and ev["time"] < t_since) or (wanted and ev["service"] not in wanted):
                    continue
                out = compose_event(ev)
                click.echo(json.dumps(out) if as_json else text_line(out, ev["time"]))
            if t_until is not None and time.time() >= t_until:
                return
            time.sleep(POLL)
    except KeyboardInterrupt:
        return
