"""``pystack attach SERVICE``: the terminal joined to a running service container, as Compose's ``attach``.

Its output from now on is shown; with ``stdin_open`` (or ``tty``) what is typed reaches its
PID 1 (a debugger's prompt, a REPL); with ``tty`` our terminal goes raw. The command ends with
the container, exiting with its exit code, or when the detach keys are typed (exit 1 and
"read escape sequence", as Docker's). Without a terminal, the signals the command receives go to
PID 1 (``--sig-proxy``, on by default): Ctrl-C interrupts the container's program, not the command.
"""

from __future__ import annotations

import os
import sys

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions


@click.command()
@click.argument("service")
@click.option("--detach-keys", default=None, metavar="KEYS",
              help="Override the key sequence for detaching from a container (default ctrl-p,ctrl-q).")
@click.option("--index", type=click.IntRange(min=1), default=1, show_default=True,
              help="Index of the container if service has multiple replicas.")
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN.")
@click.option("--sig-proxy", type=click.BOOL, default=True, show_default=True, is_flag=False, flag_value=True,
              help="Proxy all received signals to the process (--sig-proxy=false leaves them to the command).")
@click.pass_obj
def attach(opts: GlobalOptions, service: str, detach_keys: str | None, index: int, no_stdin: bool,
           sig_proxy: bool) -> None:
    """Attach local standard input, output, and error streams to a service's running container."""
    from orchestrator.cli import attach_session
    from orchestrator.cli.detach_keys import parse
    from orchestrator.errors import PystackError

    try:
        keys = parse(detach_keys)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--detach-keys") from None
    ctx, rec = proj.service_container(opts, service, index, "attach")
    if rec.status == "paused":
        raise PystackError(f"attach: {rec.name} is paused, unpause it first")
    if rec.status != "running":
        raise PystackError(f"attach: {rec.name} is not running, start it first")
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    att = rt.attach(rec.id)
    try:
        stdin = not no_stdin and att.stdin is not None
        if stdin and att.terminal and not os.isatty(0):
            raise PystackError("attach: the input device is not a TTY (use --no-stdin to watch only)")
        if sig_proxy and not att.terminal:  # run's set, and Ctrl-C too: docker attach passes it on
            from orchestrator.cli.run_flow import PROXIED_SIGNALS, proxy_signals

            proxy_signals(rt, rec.id, ("SIGINT", *PROXIED_SIGNALS))
        try:
            ended = attach_session.relay(att, ctx.paths.container(rec.id) / "log.json", stdin=stdin,
                                         detach_keys=keys)
        except KeyboardInterrupt:  # --sig-proxy=false: Ctrl-C is the command's own, and ends it
            sys.exit(130)
    finally:
        att.close()
    if not ended:
        click.echo("read escape sequence", err=True)
        sys.exit(1)
    status = rt.exit_status(rec.id)
    sys.exit(status.code if status is not None else 0)
