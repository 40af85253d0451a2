"""observe: the state's rows checked against the runtime, as ``up`` plans and ``ps`` lists them."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.paths import Paths
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.engine import observe
from orchestrator.state import containers as cstate
from orchestrator.state.containers import ContainerRecord


def _row(ctx: Context, cid: str, *, runtime: str = "pystack", one_off: bool = False) -> None:
    cstate.insert(ctx.db(), ContainerRecord(id=cid, name=f"obs-{cid}", project="obs", service="s", number=1,
                                            config_hash="h", status="running", runtime=runtime, one_off=one_off))


def _ended(ctx: Context, cid: str, code: int) -> None:
    """What the runtime keeps of a container whose PID 1 exited and whose monitor recorded it."""
    d = ctx.paths.runtime_state / cid
    d.mkdir(parents=True)
    (d / "state.json").write_text(json.dumps({"id": cid, "pid": 2 ** 22 + 1, "pid_start": 1, "bundle": "/b"}))
    (d / "exit.json").write_text(json.dumps({"code": code, "signal": None, "oom_killed": False,
                                             "finished_at": 1.0}))


def test_a_row_whose_process_ended_is_exited_with_the_recorded_code(tmp_path: Path) -> None:
    ctx = Context(Paths(tmp_path))
    _row(ctx, "c1")
    _ended(ctx, "c1", 6)
    _row(ctx, "c2", one_off=True)
    _ended(ctx, "c2", 3)
    seen = {r.id: (r.status, r.exit_code) for r in observe(ctx, "obs")}
    assert seen == {"c1": ("exited", 6)}  # one-off rows only when asked for
    seen = {r.id: (r.status, r.exit_code) for r in observe(ctx, "obs", one_off=True)}
    assert seen == {"c1": ("exited", 6), "c2": ("exited", 3)}
    stored = {r.id: (r.status, r.exit_code) for r in cstate.for_project(ctx.db(), "obs")}
    assert stored == seen
    assert {r.finished_at for r in cstate.for_project(ctx.db(), "obs")} == {1.0}  # when, for ps's "ago"


def test_a_row_whose_runtime_cannot_be_opened_counts_as_half_made(tmp_path: Path) -> None:
    ctx = Context(Paths(tmp_path))
    _row(ctx, "c3", runtime="no-such-runtime")
    assert [(r.id, r.status) for r in observe(ctx, "obs")] == [("c3", "creating")]


def test_a_look_in_the_instant_before_the_exit_is_written_waits_for_it(tmp_path: Path) -> None:
    """PID 1 is gone, its monitor not yet done writing exit.json: the row gets the code, not none
    (``wait`` of a failed job once printed status 0 from such a look)."""
    import subprocess
    import sys

    from orchestrator.runtime.store import start_time

    ctx = Context(Paths(tmp_path))
    _row(ctx, "c4")
    d = ctx.paths.runtime_state / "c4"
    d.mkdir(parents=True)
    record = json.dumps({"code": 4, "signal": None, "oom_killed": False, "finished_at": 2.0})
    writer = (f"import time, pathlib; time.sleep(0.3); p = pathlib.Path({str(d / 'exit.tmp')!r}); "
              f"p.write_text({record!r}); p.rename({str(d / 'exit.json')!r})")
    monitor = subprocess.Popen([sys.executable, "-c", writer])
    try:
        (d / "state.json").write_text(json.dumps({"id": "c4", "pid": 2 ** 22 + 1, "pid_start": 1, "bundle": "/b",
                                                  "monitor_pid": monitor.pid,
                                                  "monitor_start": start_time(monitor.pid)}))
        seen = {r.id: (r.status, r.exit_code) for r in observe(ctx, "obs")}
    finally:
        monitor.wait(10)
    assert seen == {"c4": ("exited", 4)}
