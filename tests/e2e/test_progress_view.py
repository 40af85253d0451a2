"""The live progress view as a user sees it on a terminal: rows redrawn in place, ending on outcomes."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

from tests.e2e.conftest import Host

STACK = """
name: e2eview
services:
  db:
    image: busybox:latest
    command: ["sleep", "300"]
    init: true
    healthcheck:
      test: ["CMD", "true"]
      interval: 0.3s
  api:
    image: busybox:latest
    command: ["sleep", "300"]
    init: true
    depends_on:
      db: {condition: service_healthy}
"""

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _on_a_terminal(host: Host, *args: str) -> str:
    """Run pystack with a pseudo-terminal as its stdout and stderr (util-linux ``script``)."""
    inner = shlex.join(["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", *args])
    env = host.env() | {"COLUMNS": "100", "TERM": "xterm"}
    res = subprocess.run(["script", "-qec", inner, "/dev/null"], cwd=host.workdir, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_up_and_down_draw_a_live_view_on_a_terminal(host: Host) -> None:
    f = host.write("compose.yaml", STACK)
    out = _on_a_terminal(host, "-f", str(f), "up", "-d", "--wait", "--wait-timeout", "60")
    assert "\x1b[1A" in out  # the view moves the cursor up to redraw itself
    final = ANSI.sub("", out.rsplit("[+] Running", 1)[1])
    assert final.startswith(" 2/2")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"Container (e2eview-\w+-1)\s+(\w+)", final)}
    assert rows == {"e2eview-db-1": "Healthy", "e2eview-api-1": "Started"}
    assert "✔" in final and "Creating" not in final

    out = _on_a_terminal(host, "-f", str(f), "down", "-t", "0")
    final = ANSI.sub("", out.rsplit("[+] Running", 1)[1])
    assert re.search(r"Container e2eview-db-1\s+Removed", final)
    assert re.search(r"Container e2eview-api-1\s+Removed", final)
    assert re.search(r"Network e2eview_default\s+Removed", final)  # by its name, as Compose


def test_plain_progress_when_not_a_terminal(host: Host) -> None:
    f = host.write("compose.yaml", STACK)
    res = host.pystack("-f", str(f), "up", "-d", "--wait", "--wait-timeout", "60")
    assert "\x1b[" not in res.stderr
    lines = res.stderr.splitlines()
    assert "Container e2eview-db-1  Healthy" in lines and "Container e2eview-api-1  Started" in lines
    assert lines.index("Container e2eview-db-1  Healthy") < lines.index("Container e2eview-api-1  Started")
    down = host.pystack("-f", str(f), "down", "-t", "0").stderr.splitlines()
    assert "Network e2eview_default  Removed" in down
