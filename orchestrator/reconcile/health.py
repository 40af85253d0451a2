"""Running one health probe inside a container, and waiting for a container to become healthy.

Probes are executed by pystack itself (no daemon, no systemd timers): ``CMD`` runs its argv,
``CMD-SHELL`` runs ``/bin/sh -c``; each probe joins the container's namespaces through the
runtime's ``exec``. Results go to the state database, where ``ps``, ``inspect`` and waiting
dependants read them.
"""

from __future__ import annotations

import os
import tempfile
import time

import anyio

from orchestrator.errors import PystackError
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.health_state import HealthConfig, HealthState
from orchestrator.state import containers as cstate
from orchestrator.state.containers import ContainerRecord


def probe_args(cfg: HealthConfig) -> list[str]:
    kind, *rest = cfg.test
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(rest)]
    if kind == "CMD":
        return list(rest)
    return list(cfg.test)


def _probe_sync(ctx: Context, rec: ContainerRecord, args: list[str], env: dict[str, str]) -> tuple[int, str]:
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    with tempfile.TemporaryFile() as out:
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            code = rt.exec(rec.id, {"args": args, "env": [f"{k}={v}" for k, v in env.items()], "cwd": "/"},
                           stdin=null, stdout=out.fileno(), stderr=out.fileno())
        finally:
            os.close(null)
        out.seek(0)
        return code, out.read(8192).decode(errors="replace")


async def probe_once(ctx: Context, rec: ContainerRecord, cfg: HealthConfig, state: HealthState) -> str:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    started = time.time()
    try:
        with anyio.fail_after(cfg.timeout):
            code, output = await anyio.to_thread.run_sync(_probe_sync, ctx, rec, probe_args(cfg), env,
                                                          abandon_on_cancel=True)
    except TimeoutError:
        code, output = -1, f"health check exceeded timeout ({cfg.timeout}s)"
    except PystackError as exc:
        code, output = -1, str(exc)
    since = started - (rec.started_at or started)
    status = state.record(cfg, exit_code=code, output=output, started=started, ended=time.time(), since_start=since)
    cstate.update(ctx.db(), rec.id, health=status, health_log=state.log)
    return status


async def wait_healthy(ctx: Context, rec: ContainerRecord, cfg: HealthConfig, *, service: str) -> None:
    """Probe until healthy; raise with the cause when the container turns unhealthy or exits."""
    state = HealthState()
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    while True:
        since = time.time() - (rec.started_at or time.time())
        await anyio.sleep(state.next_interval(cfg, since))
        st = await anyio.to_thread.run_sync(rt.state, rec.id)
        if st.status == "stopped":
            ex = rt.exit_status(rec.id)
            code = ex.code if ex else "?"
            raise PystackError(f"dependency {service} exited ({code}) before becoming healthy")
        status = await probe_once(ctx, rec, cfg, state)
        if status == "healthy":
            return
        if status == "unhealthy":
            last = state.log[-1]["output"].strip() if state.log else ""
            raise PystackError(f"dependency {service} is unhealthy" + (f": {last}" if last else ""))
