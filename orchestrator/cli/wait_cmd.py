"""``pystack wait``: block until the containers of services stop, as Compose's ``wait``.

Useful in scripts: ``up -d`` a stack whose one service runs the tests, then ``wait tests`` for
its exit code, rather than a loop over ``ps``.
"""

from __future__ import annotations

import time

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions

POLL = 0.1


@click.command(name="wait")
@click.argument("services", nargs=-1)
@click.option("--down-project", is_flag=True, help="Drops project when the first container stops.")
@click.pass_obj
def wait(opts: GlobalOptions, services: tuple[str, ...], down_project: bool) -> None:
    """Block until containers of all (or specified) services stop.

    Prints each container's exit status as it stops; exits with the status of the last one (the
    first one with --down-project, which then takes the stack down)."""
    import sys

    from orchestrator.errors import PystackError
    from orchestrator.reconcile.engine import observe

    name, _ = proj.project_name(opts)
    ctx = proj.context(opts)
    recs = observe(ctx, name)
    if services:
        unknown = [s for s in services if s not in {r.service for r in recs}]
        if unknown:
            raise PystackError(f"no such service: {', '.join(unknown)}")
    watched = {r.id for r in recs if not services or r.service in services}
    if not watched:
        raise PystackError(f"no containers to wait for in project {name!r}")
    code = 0
    try:
        while watched:
            recs = observe(ctx, name)
            watched &= {r.id for r in recs}  # removed meanwhile (down, rm): nothing left to wait for
            for r in recs:
                if r.id in watched and r.status == "exited":
                    watched.discard(r.id)
                    code = r.exit_code if r.exit_code is not None else 0
                    click.echo(f"container {r.name} exited with status code {code}")
                    if down_project:
                        watched.clear()
                        break
            if watched:
                time.sleep(POLL)
    except KeyboardInterrupt:
        sys.exit(130)
    if down_project:
        from orchestrator.cli.down_cmd import down

        click.get_current_context().invoke(down)
    sys.exit(code)
