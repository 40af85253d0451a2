"""Foreground output: every service's log, prefixed and aligned, following restarts and recreates.

Logs keep flowing while the stack stops after Ctrl-C, so what containers print on their way out
(a SIGTERM handler's last words) is shown, as Compose shows it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from orchestrator.reconcile.context import Context
from orchestrator.reconcile.logs import Follower, Printer
from orchestrator.state import containers as cstate
from orchestrator.state.containers import ContainerRecord

POLL = 0.05
EXIT_CHECK = 0.25  # how often the runtime is asked whether containers have exited (each asks the kernel)


class Attacher:
    def __init__(self, ctx: Context, project: str, services: list[str], *, colour: bool | None,
                 prefix: bool, timestamps: bool = False, watched: list[str] | None = None) -> None:
        """``services``: whose output is printed; ``watched``: whose exit ends :meth:`follow` when
        asked to abort (all of ``up``'s services, printed or not, as Compose watches them)."""
        self.ctx = ctx
        self.project = project
        self.services = services
        self.watched = watched if watched is not None else services
        self.followers: dict[str, tuple[str, Follower]] = {}
        self.printer = Printer([], colour=colour, prefix=prefix, timestamps=timestamps)
        self.all_exited = False  # follow() ended because every container had exited for good
        self.detached = False  # follow() ended because its tick asked to (up --menu's d)
        self._announced: set[tuple[str, float | None]] = set()  # (container, finished_at) exits shown

    def poll(self) -> list[ContainerRecord]:
        recs = [r for r in cstate.for_project(self.ctx.db(), self.project, include_one_off=False)
                if r.service in self.services]
        for r in recs:
            if r.id not in self.followers:
                label = r.name.removeprefix(f"{self.project}-")
                self.printer.add_name(label)
                self.followers[r.id] = (label, Follower(self.ctx.paths.container(r.id) / "log.json"))
        for label, f in self.followers.values():
            for rec in f.poll():
                self.printer.write(label, rec)
        return recs

    def follow(self, *, abort_on_exit: bool, exit_code_from: str | None, abort_on_failure: bool = False,
               tick: Callable[[], bool] | None = None) -> int:
        """Until Ctrl-C (130), or until a container exits (fails, with ``abort_on_failure``) when
        asked to abort on that, with its exit code. With ``exit_code_from``, until that service's
        container exits: a one-shot dependency (a migration) that ends first does not stop the stack.
        Otherwise until every container has exited for good (none that its restart policy will
        start again), with 0 and :attr:`all_exited` set, as Compose's ``up`` returns then. ``tick``,
        called between two looks, ends it with 0 and :attr:`detached` set when it returns True."""
        aborting = abort_on_exit or abort_on_failure or bool(exit_code_from)
        next_check = 0.0
        try:
            while True:
                self.poll()
                if tick is not None and tick():
                    self.detached = True
                    return 0
                if aborting or time.monotonic() >= next_check:
                    next_check = time.monotonic() + EXIT_CHECK
                    recs = self._watched()
                    if aborting:
                        code = self._ended(recs, abort_on_failure, exit_code_from)
                        if code is not None:
                            return code
                    elif recs and all(exited_for_good(r) for r in recs):
                        self.poll()  # what they printed last, then their exits
                        self._announce(recs)
                        self.all_exited = True
                        return 0
                    self._announce(recs)
                time.sleep(POLL)
        except KeyboardInterrupt:
            return 130

    def _watched(self) -> list[ContainerRecord]:
        # checked against the runtime, as ps does: an exit counts at once, whether or not the
        # supervisor has recorded it yet (or runs at all)
        from orchestrator.reconcile.engine import observe

        return [r for r in observe(self.ctx, self.project) if r.service in self.watched]

    def _announce(self, recs: list[ContainerRecord]) -> None:
        for r in sorted(recs, key=lambda r: r.finished_at or 0.0):  # in the order they ended
            if r.status == "exited" and r.service in self.services and (r.id, r.finished_at) not in self._announced:
                self._announced.add((r.id, r.finished_at))
                self.printer.exited(r.name.removeprefix(f"{self.project}-"), int(r.exit_code or 0))

    def _ended(self, recs: list[ContainerRecord], on_failure: bool, exit_code_from: str | None) -> int | None:
        done = [r for r in recs if r.status == "exited" and r.desired == "running"]
        if on_failure:
            done = [r for r in done if r.exit_code not in (0, None)]
        if exit_code_from:
            target = [r for r in done if r.service == exit_code_from]
            return int(target[0].exit_code or 0) if target else None
        return int(done[0].exit_code or 0) if done else None

    def while_running(self, work: Callable[[], None]) -> None:
        """Run ``work`` (stopping the stack) in a thread and keep printing until it is done."""
        errors: list[BaseException] = []

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # re-raised below, in the caller's thread
                errors.append(exc)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        while t.is_alive():
            self.poll()
            t.join(POLL)
        time.sleep(POLL)
        self.poll()
        if errors:
            raise errors[0]


def exited_for_good(rec: ContainerRecord) -> bool:
    """Exited, and not to be started again by its restart policy (nor by anyone: a stop's)."""
    from orchestrator.reconcile.desired import RunInfo
    from orchestrator.reconcile.policy import should_restart

    if rec.status != "exited":
        return False
    policy = RunInfo.from_record_spec(rec.spec).restart
    return not should_restart(policy, int(rec.exit_code or 0), rec.restart_count,
                              stopped_by_user=rec.desired == "stopped")
