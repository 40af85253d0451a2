"""The removal a killed ``run --rm`` owed its container, done once the container has ended.

A foreground ``run --rm`` removes its container itself after PID 1 exits. Killed first (SIGKILL
cannot be passed on, unlike the signals ``run`` forwards), it left an ended container behind,
where Docker's daemon would still have removed it. pystack has no daemon to do that, but the
container's monitor outlives the command: the command hands its runtime ``create`` this module's
command line (:func:`command`) as the ``orphan_exit_command``, which the monitor runs only if the
command died before PID 1 exited (:mod:`orchestrator.runtime.exit_command`). It removes the
container as the command would have, anonymous volumes included, under the stack's lock; one
already removed (by ``down`` meanwhile) is left alone.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator import isolated
from orchestrator.paths import Paths


def command(paths: Paths, container_id: str, host_netns: str | None) -> list[str]:
    argv = [*isolated.command("orchestrator.reconcile.orphan_removal", site_packages=True),
            "--root", str(paths.root), "--container", container_id]
    return [*argv, "--host-netns", host_netns] if host_netns else argv


def main(argv: list[str] | None = None) -> int:
    import argparse  # here: the command that only builds the command line never needs it

    ap = argparse.ArgumentParser(prog="pystack-orphan-removal")
    ap.add_argument("--root", required=True)
    ap.add_argument("--container", required=True)
    ap.add_argument("--host-netns", default=None)
    args = ap.parse_args(argv)

    from orchestrator.errors import PystackError
    from orchestrator.reconcile import lifecycle
    from orchestrator.reconcile.context import Context
    from orchestrator.state import containers as cstate
    from orchestrator.state.stack_lock import stack_lock

    ctx = Context(Paths(Path(args.root)), host_netns=args.host_netns)
    rec = cstate.get(ctx.db(), args.container)
    if rec is None or not rec.one_off:
        return 0
    with stack_lock(ctx.paths, rec.project):
        rec = cstate.get(ctx.db(), args.container)
        if rec is None:  # a down removed it while this waited for the lock
            return 0
        try:
            lifecycle.remove(ctx, rec, timeout=0, anonymous="delete")
        except PystackError:
            return 1  # it stays, ended, for rm or down: as it would have without this
    return 0
