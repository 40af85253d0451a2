"""``up --menu`` on a terminal: ``w`` turns the watch on and off, ``d`` detaches and leaves the
stack running; the terminal gets its settings back either way."""

from __future__ import annotations

import time

from tests.e2e.conftest import Host
from tests.e2e.onpty import OnPty
from tests.helpers.output import json_lines

STACK = """
name: upmenu
services:
  app:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; echo app-ready; sleep 1000 & wait"]
    develop:
      watch:
        - {action: sync, path: ./src, target: /src}
"""


def _synced(host: Host, f: str, name: str, text: str, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        res = host.pystack("-f", f, "exec", "-T", "app", "cat", f"/src/{name}", check=False)
        if res.returncode == 0 and res.stdout == text:
            return True
        time.sleep(0.2)
    return False


def test_menu_keys_toggle_the_watch_and_detach(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK))
    host.write("src/first", "one\n")
    with OnPty(host, "-f", f, "up", "--menu") as t:
        assert t.read_until(b"app-ready", 30), t.out
        assert b"d Detach" in t.out and b"w Toggle Watch" in t.out
        host.write("src/before", "not watched yet\n")
        time.sleep(1.0)
        assert not _synced(host, f, "before", "not watched yet\n", 0.5)

        t.type(b"w")
        assert t.read_until(b"Watch enabled", 15), t.out
        host.write("src/second", "two\n")
        assert _synced(host, f, "second", "two\n", 15), t.read_until(b"\0", 1) or t.out

        t.type(b"w")
        assert t.read_until(b"Watch disabled", 15), t.out
        host.write("src/third", "three\n")
        time.sleep(1.5)
        assert not _synced(host, f, "third", "three\n", 0.5)

        t.type(b"d")
        assert t.finish(30) == 0, t.out
    ps = json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)
    assert [c["State"] for c in ps] == ["running"]  # detached: nothing was stopped
    host.pystack("-f", f, "down", "-t", "0")


def test_menu_needs_a_terminal_and_no_detach(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK))
    res = host.pystack("-f", f, "up", "-d", "--menu", check=False)
    assert res.returncode == 2 and "--menu" in res.stderr
