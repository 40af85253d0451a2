"""``up`` in the foreground returns once every container has exited for good, as Compose's does:
each exit is shown (``name exited with code N``) and a container that its restart policy starts
again keeps ``up`` following it. Before, ``up`` followed the logs until Ctrl-C even when nothing
ran any more, so a CI job that ran its tests as a stack's one-shot service never ended.

Also here, since only a foreground ``up`` shows it so plainly: a ``working_dir`` missing from the
image is created, as Docker and runc create it, even under a read-only root and another user.
"""

from __future__ import annotations

from tests.e2e.conftest import Host


def test_up_returns_when_everything_has_exited_and_not_before_a_restart(host: Host) -> None:
    host.write("out/.keep", "")
    f = str(host.write("compose.yaml", """
name: upends
services:
  once:
    image: busybox:latest
    network_mode: none
    read_only: true
    user: "1000"
    working_dir: /not/in/the/image
    command: ["sh", "-c", "echo once in $$(pwd)"]
  flaky:
    image: busybox:latest
    network_mode: none
    restart: on-failure
    volumes: ["./out:/out"]
    command:
      - sh
      - -c
      - n=$$(( $$(cat /out/n 2>/dev/null || echo 0) + 1 )); echo $$n > /out/n; echo attempt $$n; [ $$n -ge 3 ]
"""))
    res = host.pystack("-f", f, "up", "--no-color", timeout=90)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "once-1  | once in /not/in/the/image" in lines  # names padded to the longest, flaky-1
    assert "once-1 exited with code 0" in lines
    assert [x for x in lines if "attempt" in x] == [f"flaky-1 | attempt {n}" for n in (1, 2, 3)]
    assert lines[-1] == "flaky-1 exited with code 0"  # its last exit, for good, and then up returned
    assert (host.workdir / "out" / "n").read_text() == "3\n"
    assert "Gracefully stopping" not in res.stderr  # nothing was left running to stop
    host.pystack("-f", f, "down", "-t", "0")
