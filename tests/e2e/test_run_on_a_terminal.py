"""``run`` on a terminal: what the container prints reaches the terminal, however soon it ends."""

from __future__ import annotations

from tests.e2e.conftest import Host
from tests.e2e.onpty import OnPty

SERVICE = """
name: {name}
services:
  one:
    image: busybox:latest
    network_mode: none
"""


def test_a_command_that_ends_at_once_still_shows_its_output(host: Host) -> None:
    """Its PID 1 may be gone before the relay begins (the runtime then names no pid), its output
    still in the pty. Before, the pty was closed unread and the terminal showed nothing, about
    one run in two on this machine."""
    f = str(host.write("compose.yaml", SERVICE.format(name="ptylog0")))
    for i in range(6):
        with OnPty(host, "-f", f, "run", "--rm", "one", "echo", f"quick-{i}") as t:
            assert t.finish(60) == 0, t.out
        assert f"quick-{i}\r\n".encode() in t.out
    host.pystack("-f", f, "down", "-t", "0")
