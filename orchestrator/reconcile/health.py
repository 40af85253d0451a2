"""Running one health probe inside a container, and waiting for a container to become healthy.

Probes are executed by pystack itself (no daemon, no systemd timers): ``CMD`` runs its argv,
``CMD-SHELL`` runs ``/bin/sh -c``; each probe joins the container's namespaces through the
runtime's ``exec``. Results go to the state database, where ``ps``, ``inspect`` and waiting
dependants read them.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time

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


def _probe_sync(ctx: Context, rec: ContainerRecord, args: list[str]) -> tuple[int, str]:
    """The probe in the container with its own environment, working directory and user, as Docker
    runs a health check (``curl localhost:$PORT`` needs the service's PORT)."""
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    with tempfile.TemporaryFile() as out:
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            code = rt.exec(rec.id, {"args": args}, stdin=null, stdout=out.fileno(), stderr=out.fileno())
        finally:
            os.close(null)
        out.seek(0)
        return code, out.read(8192).decode(errors="replace")


def probe(ctx: Context, rec: ContainerRecord, cfg: HealthConfig, state: HealthState) -> str:
    """One probe, its result recorded; blocks for the probe's timeout at most (a probe that overruns
    is left to finish on its own thread, as Docker abandons it)."""
    started = time.time()
    got: list[tuple[int, str]] = []
    failed: list[Exception] = []

    def run() -> None:
        try:
            got.append(_probe_sync(ctx, rec, probe_args(cfg)))
        except PystackError as exc:
            got.append((-1, str(exc)))
        except Exception as exc:  # raised in the caller's thread below
            failed.append(exc)

    worker = threading.Thread(target=run, name=f"probe-{rec.name}", daemon=True)
    worker.start()
    worker.join(cfg.timeout)
    if failed:
        raise failed[0]
    code, output = got[0] if got else (-1, f"health check exceeded timeout ({cfg.timeout}s)")
    since = started - (rec.started_at or started)
    status = state.record(cfg, exit_code=code, output=output, started=started, ended=time.time(), since_start=since)
    cstate.update(ctx.db(), rec.id, health=status, health_log=state.log)
    return status


def wait_healthy(ctx: Context, rec: ContainerRecord, cfg: HealthConfig, *, service: str) -> None:
    """Probe until healthy; raise with the cause when the container turns unhealthy or exits."""
    state = HealthState()
    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    while True:
        since = time.time() - (rec.started_at or time.time())
        time.sleep(state.next_interval(cfg, since))
        st = rt.state(rec.id)
        if st.status == "stopped":
            ex = rt.exit_status(rec.id)
            code = ex.code if ex else "?"
            raise PystackError(f"dependency {service} exited ({code}) before becoming healthy")
        status = probe(ctx, rec, cfg, state)
        if status == "healthy":
            return
        if status == "unhealthy":
            last = state.log[-1]["output"].strip() if state.log else ""
            raise PystackError(f"dependency {service} is unhealthy" + (f": {last}" if last else ""))
