"""The supervisor reads a finished run's exit status only once the monitor has recorded it."""

from __future__ import annotations

import threading
import time

from orchestrator.errors import RuntimeFailure
from orchestrator.reconcile.supervisor import recorded_exit
from orchestrator.runtime.api import ExitStatus


class _Runtime:
    """A run that has ended while its monitor is still writing the record (it takes ``delay``)."""

    def __init__(self, delay: float, records: bool = True) -> None:
        self.record: ExitStatus | None = None
        self.done = threading.Event()

        def monitor() -> None:
            time.sleep(delay)
            if records:
                self.record = ExitStatus(code=3, signal=None, oom_killed=False, finished_at=time.time())
            self.done.set()

        threading.Thread(target=monitor, daemon=True).start()

    def exit_status(self, cid: str) -> ExitStatus | None:
        return self.record

    def wait(self, cid: str, timeout: float | None = None) -> ExitStatus | None:
        if not self.done.wait(timeout):
            return None
        if self.record is None:
            raise RuntimeFailure(f"the monitor of {cid} is gone without recording an exit status")
        return self.record


def test_the_status_the_monitor_is_still_writing_is_waited_for() -> None:
    rt = _Runtime(delay=0.2)
    assert rt.exit_status("c") is None  # what reading at once used to find
    status = recorded_exit(rt, "c")
    assert status is not None and status.code == 3


def test_a_monitor_gone_without_a_record_gives_none() -> None:
    assert recorded_exit(_Runtime(delay=0.0, records=False), "c") is None
