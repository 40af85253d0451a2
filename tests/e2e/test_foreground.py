"""Foreground ``up``: prefixed logs from every service, and Ctrl-C stops the stack gracefully."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines


def test_foreground_up_streams_prefixed_logs_and_ctrl_c_stops(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: e2efg
services:
  ticker:
    image: busybox:latest
    command: ["sh", "-c", "trap 'echo bye; exit 0' TERM; while true; do echo tick; sleep 0.2; done"]
  other:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello from other; while true; do sleep 0.2; done"]
"""))
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f, "up",
           "--no-color"]
    proc = subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 30
        seen: list[str] = []
        assert proc.stdout is not None
        while time.monotonic() < deadline and not (
            any(x.startswith("ticker-1 | tick") for x in seen) and any("hello from other" in x for x in seen)
        ):
            seen.append(proc.stdout.readline().rstrip("\n"))
        assert any(x.startswith("ticker-1 | tick") for x in seen), seen
        assert any(x.startswith("other-1  | hello from other") for x in seen), seen
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "ticker-1 | bye" in out  # its SIGTERM handler ran: a graceful stop, not a kill
    assert "Gracefully stopping" in err
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert sorted((r["Service"], r["State"]) for r in rows) == [("other", "exited"), ("ticker", "exited")]
