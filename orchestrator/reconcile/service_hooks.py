"""A service's lifecycle hooks (``post_start``, ``pre_stop``): execs that Compose runs around the
starts and stops it makes itself.

Hence only there: after a command starts a service container (``up``, ``start``, ``restart``) and
before it stops one (``stop``, ``restart``, ``down``, a recreate or a scale-down). A restart by the
restart policy is the engine's, in Docker as here (the supervisor's), and runs none; nor does a
one-off ``run`` container. The hooks come from the container's record (its normalized service), so
they are the ones it was made with. Each runs to its end before the next, output kept for the
message should it fail.

As the compose-spec has it, a failing ``post_start`` hook stops the container (and fails the
command), and a failing ``pre_stop`` hook aborts the container's stop: it keeps running and the
command fails (a backup before the stop that did not happen is a reason not to stop). A ``pre_stop``
hook gets the stop's grace period at most, overrunning it is failing; ``-t 0`` runs none (the way
to stop such a container anyway).
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

from orchestrator.errors import PystackError

if TYPE_CHECKING:
    from orchestrator.reconcile.context import Context
    from orchestrator.state.containers import ContainerRecord


def hooks_of(rec: ContainerRecord, kind: str) -> list[dict[str, Any]]:
    if rec.one_off:
        return []
    hooks = (rec.spec.get("service") or {}).get(kind) or []
    return [h for h in hooks if isinstance(h, dict) and h.get("command")]


class HookFailed(PystackError):
    """A lifecycle hook failed: the container was stopped (post_start) or not stopped (pre_stop)."""


def post_start(ctx: Context, rec: ContainerRecord) -> None:
    """Run the container's post_start hooks; the first that fails stops the container and raises."""
    for hook in hooks_of(rec, "post_start"):
        code, output = _run(ctx, rec, hook, None)
        if code != 0:
            from orchestrator.reconcile import lifecycle

            lifecycle.stop(ctx, rec, hooks=False)
            raise HookFailed(_failure(rec, "post_start", hook, code, output) + "; the container was stopped")


def pre_stop(ctx: Context, rec: ContainerRecord, grace: float) -> list[str]:
    """Run the container's pre_stop hooks within ``grace`` seconds; notes to show (hooks skipped).

    Raises :class:`HookFailed` at the first that fails or overruns: the stop is not to happen."""
    hooks = hooks_of(rec, "pre_stop")
    if not hooks:
        return []
    if grace <= 0:
        return [f"container {rec.name}: pre_stop hooks skipped: no grace period (-t 0)"]
    deadline = time.monotonic() + grace
    for hook in hooks:
        left = deadline - time.monotonic()
        try:
            code, output = _run(ctx, rec, hook, left) if left > 0 else (-1, "the grace period is over")
        except PystackError as exc:
            code, output = -1, str(exc)
        if code != 0:
            raise HookFailed(_failure(rec, "pre_stop", hook, code, output) + "; the container was not stopped")
    return []


def _run(ctx: Context, rec: ContainerRecord, hook: dict[str, Any], timeout: float | None) -> tuple[int, str]:
    """(exit code, output) of one hook; (-1, why) if it outlived ``timeout``, which it is left to."""
    import shlex
    import tempfile  # here: every start and stop imports this module, few services have hooks

    from orchestrator.reconcile.exec_process import exec_process

    command = hook["command"]
    args = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    process = exec_process(ctx, rec, args, env=hook.get("environment") or None, workdir=hook.get("working_dir"),
                           user=None if hook.get("user") is None else str(hook["user"]),
                           privileged=bool(hook.get("privileged")))
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    got: list[tuple[int, str]] = []
    failed: list[PystackError] = []

    def run() -> None:
        with tempfile.TemporaryFile() as out:
            null = os.open(os.devnull, os.O_RDONLY)
            try:
                code = rt.exec(rec.id, process, stdin=null, stdout=out.fileno(), stderr=out.fileno())
            except PystackError as exc:
                failed.append(exc)
                return
            finally:
                os.close(null)
            out.seek(0)
            got.append((code, out.read(8192).decode(errors="replace")))

    worker = threading.Thread(target=run, name=f"hook-{rec.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if failed:
        raise failed[0]
    if not got:
        return -1, f"still running after {timeout:.3g}s"
    return got[0]


def _shown(hook: dict[str, Any]) -> str:
    import shlex

    command = hook["command"]
    return repr(command if isinstance(command, str) else shlex.join(str(a) for a in command))


def _failure(rec: ContainerRecord, kind: str, hook: dict[str, Any], code: int, output: str) -> str:
    last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "")
    how = last if code < 0 else f"exit code {code}" + (f": {last}" if last else "")
    return f"container {rec.name}: {kind} hook {_shown(hook)} failed: {how}"
