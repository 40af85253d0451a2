"""``events`` as Compose's: it follows (new events only, unless ``--since``), filters by service,
ends at ``--until``, and prints Compose's JSON objects and text lines."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from typing import Any

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

STACK = """
name: evstack
services:
  a:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
  b:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "exit 3"]
"""


def test_events_follow_filter_and_replay(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK))
    host.pystack("-f", f, "up", "-d", "a")
    follower = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f, "events",
         "--json", "b"], cwd=host.workdir, env=host.env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # it has read where the history ends: what follows is new
        host.pystack("-f", f, "up", "-d", "b")
        assert follower.stdout is not None
        seen: list[dict[str, object]] = []
        pending = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (seen and seen[-1]["action"] == "die"):
            if select.select([follower.stdout], [], [], 0.5)[0]:
                chunk = os.read(follower.stdout.fileno(), 65536)
                assert chunk, "events ended early"
                *lines, pending = (pending + chunk).split(b"\n")
                seen.extend(json.loads(line) for line in lines)
        assert follower.poll() is None  # still following
    finally:
        follower.terminate()
        follower.wait(10)
    assert [e["action"] for e in seen] == ["create", "start", "die"]  # nothing of a, nothing before
    die: dict[str, Any] = seen[-1]
    assert die["type"] == "container" and die["service"] == "b"
    assert die["attributes"] == {"name": "evstack-b-1", "exitCode": "3"}
    ids = {c["Name"]: c["ID"] for c in json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)}
    assert ids["evstack-b-1"].startswith(die["id"][:12]) and die["id"] != "evstack-b-1"

    # --since replays, --until ends it; text lines as Compose's
    lines = host.pystack("-f", f, "events", "--since", "1h", "--until", "0s", "a", timeout=30).stdout.splitlines()
    assert [line.split(" ")[3] for line in lines] == ["create", "start"], lines
    assert lines[0].split(" ")[2] == "container" and lines[0].endswith("(name=evstack-a-1)")
    host.pystack("-f", f, "down", "-t", "0")
    after = [json.loads(x) for x in host.pystack("-f", f, "events", "--json", "--since", "0", "--until", "0s")
             .stdout.splitlines()]
    removed = [e for e in after if e["action"] == "remove"]
    assert sorted(e["attributes"]["name"] for e in removed) == ["evstack-a-1", "evstack-b-1"]
    assert all(e["id"] and e["id"] != e["attributes"]["name"] for e in removed)  # the id outlives the row
