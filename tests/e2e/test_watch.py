"""``pystack watch``: the services' ``develop.watch`` rules served on real containers.

A change under a ``sync`` rule's path shows up in every running container of the service (a
deletion too, ignored files never), below the rule's target, even where a volume is mounted there;
``sync+restart`` restarts the service after the copy, ``sync+exec`` runs its command after it,
``rebuild`` builds the image anew and recreates the service, ``initial_sync`` copies before the
first change. A container that binds the watched directory itself is left alone (a copy onto
itself would have removed the file). Before, ``develop`` was accepted with a warning and nothing
watched anything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

from tests.e2e.conftest import Host


@contextlib.contextmanager
def watching(host: Host, stack: str, *args: str, command: str = "watch") -> Iterator[Callable[[], str]]:
    """``pystack -f STACK watch ARGS`` running in the background until the block ends (Ctrl-C)."""
    log = host.workdir / "watch.log"
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", stack,
           command, *args]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        try:
            until(lambda: "Watching" in log.read_text() or proc.poll() is not None, "watch to start", timeout=60)
        except AssertionError:
            raise AssertionError(f"watch did not start:\n{log.read_text()}") from None
        assert proc.poll() is None, f"watch ended:\n{log.read_text()}"
        yield log.read_text
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        if command == "watch":
            assert code == 0, log.read_text()
            assert "Watch stopped" in log.read_text()
        else:  # up: Ctrl-C stops the stack, as a foreground up does
            assert "Gracefully stopping" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def until(check: Callable[[], object], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def image_id(host: Host, repository: str) -> str:
    rows = [line.split() for line in host.pystack("image", "ls").stdout.splitlines()[1:]]
    return next(row[2] for row in rows if row[0] == repository)


def cat(host: Host, stack: str, service: str, path: str) -> str | None:
    res = host.pystack("-f", stack, "exec", "-T", service, "cat", path, check=False)
    return res.stdout if res.returncode == 0 else None


def started(host: Host, stack: str, service: str) -> str | None:
    """PID 1's start time in the container: it changes when the container restarts.

    None while the container is not running, which it briefly is not in the middle of a restart."""
    res = host.pystack("-f", stack, "exec", "-T", service, "cut", "-d", " ", "-f", "22", "/proc/1/stat",
                       check=False)
    return res.stdout if res.returncode == 0 else None


def test_sync_delete_ignore_restart_and_exec(host: Host) -> None:
    host.write("site/index.html", "v0\n")
    host.write("conf/app.ini", "level=1\n")
    host.write("hooks/a.sh", "one\n")
    host.write("bound/kept.txt", "mine\n")
    f = str(host.write("compose.yaml", """
name: watchsync
services:
  web:
    image: busybox:latest
    network_mode: none
    command: ["sleep", "3600"]
    scale: 2
    volumes: ["data:/srv/data", "./bound:/bound"]
    develop:
      watch:
        - {path: ./site, action: sync, target: /srv/site, ignore: ["*.tmp", "cache/"]}
        - {path: ./data, action: sync, target: /srv/data}
        - {path: ./bound, action: sync, target: /bound}
        - {path: ./conf/app.ini, action: sync+restart, target: /etc/app.ini}
        - path: ./hooks
          action: sync+exec
          target: /hooks
          exec: {command: ["sh", "-c", "cat /hooks/* > /tmp/ran"]}
volumes:
  data: {}
"""))
    (host.workdir / "data").mkdir()
    with watching(host, f) as log:
        assert cat(host, f, "web", "/srv/site/index.html") is None  # no initial sync was asked for
        host.write("site/index.html", "v1\n")
        host.write("site/sub/deep.txt", "deep\n")
        until(lambda: cat(host, f, "web", "/srv/site/sub/deep.txt") == "deep\n", "a new directory's file")
        for index in ("1", "2"):  # every container of the service
            res = host.pystack("-f", f, "exec", "-T", "--index", index, "web", "cat", "/srv/site/index.html")
            assert res.stdout == "v1\n"
        host.write("site/x.tmp", "ignored\n")
        host.write("site/cache/c.txt", "ignored\n")
        host.write("site/marker", "after the ignored ones\n")
        until(lambda: cat(host, f, "web", "/srv/site/marker") is not None, "the marker")
        assert cat(host, f, "web", "/srv/site/x.tmp") is None
        assert cat(host, f, "web", "/srv/site/cache/c.txt") is None
        (host.workdir / "site" / "index.html").unlink()
        until(lambda: cat(host, f, "web", "/srv/site/index.html") is None, "the deletion")

        host.write("data/in-volume.txt", "into the volume\n")
        until(lambda: cat(host, f, "web", "/srv/data/in-volume.txt") == "into the volume\n", "the volume file")
        assert (host.root / "volumes" / "watchsync_data" / "_data" / "in-volume.txt").read_text() == "into the volume\n"

        host.write("bound/kept.txt", "mine, edited\n")
        host.write("site/marker", "second\n")
        until(lambda: cat(host, f, "web", "/srv/site/marker") == "second\n", "the second marker")
        assert (host.workdir / "bound" / "kept.txt").read_text() == "mine, edited\n"
        assert cat(host, f, "web", "/bound/kept.txt") == "mine, edited\n"

        before = started(host, f, "web")
        assert before is not None
        host.write("conf/app.ini", "level=2\n")
        until(lambda: started(host, f, "web") not in (before, None), "the restart", timeout=40)
        assert cat(host, f, "web", "/etc/app.ini") == "level=2\n"
        assert "Restarting service 'web'" in log()

        host.write("hooks/b.sh", "two\n")
        until(lambda: cat(host, f, "web", "/tmp/ran") == "two\n", "the exec after the sync")  # a.sh never changed
        assert "Syncing service 'web'" in log()


def test_rebuild_and_initial_sync(host: Host) -> None:
    host.write("app/Dockerfile", "FROM busybox:latest\nCOPY version.txt /version.txt\n")
    host.write("app/version.txt", "1\n")
    host.write("seed/s.txt", "seeded\n")
    f = str(host.write("compose.yaml", """
name: watchbuild
services:
  app:
    build: ./app
    network_mode: none
    command: ["sleep", "3600"]
    develop:
      watch:
        - {path: ./app, action: rebuild}
        - {path: ./seed, action: sync, target: /seed, initial_sync: true}
"""))
    with watching(host, f, "--quiet") as log:
        assert cat(host, f, "app", "/version.txt") == "1\n"
        assert cat(host, f, "app", "/seed/s.txt") == "seeded\n"  # copied before any change
        first = image_id(host, "watchbuild-app")
        host.write("app/version.txt", "2\n")
        until(lambda: cat(host, f, "app", "/version.txt") == "2\n", "the rebuilt container", timeout=60)
        assert "Rebuilding service 'app'" in log()
        until(lambda: "was pruned" in log(), "the previous image to be pruned")
        assert first not in host.pystack("image", "ls").stdout  # gone from the store, not only untagged
    assert "<none>" not in host.pystack("image", "ls").stdout  # --prune (the default): no dangling image left
    with watching(host, f, "--quiet", "--prune=false") as log:
        host.write("app/version.txt", "3\n")
        until(lambda: cat(host, f, "app", "/version.txt") == "3\n", "the rebuilt container", timeout=60)
        until(lambda: "rebuilt and recreated" in log(), "the rebuild's end")
        assert "was pruned" not in log()
    assert "<none>" in host.pystack("image", "ls").stdout  # kept, for image prune
    host.pystack("image", "prune", "-f")


def test_up_watch_follows_the_logs_and_syncs(host: Host) -> None:
    host.write("site/a.txt", "0\n")
    f = str(host.write("compose.yaml", """
name: upwatch
services:
  web:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "echo web is ready; exec sleep 3600"]
    stop_grace_period: 1s
    develop:
      watch:
        - {path: ./site, action: sync, target: /site, initial_sync: true}
"""))
    with watching(host, f, "--watch", command="up") as log:
        until(lambda: "web is ready" in log(), "the service's log line")
        assert cat(host, f, "web", "/site/a.txt") == "0\n"
        host.write("site/a.txt", "1\n")
        until(lambda: cat(host, f, "web", "/site/a.txt") == "1\n", "the sync")
    assert host.pystack("-f", f, "ps", "-q").stdout.strip() == ""  # stopped with the foreground up
    res = host.pystack("-f", f, "up", "-d", "--watch", check=False)
    assert res.returncode == 2 and "--watch follows the stack in the foreground" in res.stderr


def test_nothing_to_watch_is_one_line(host: Host) -> None:
    f = str(host.write("compose.yaml", "name: nowatch\nservices:\n  a: {image: busybox:latest}\n"))
    res = host.pystack("-f", f, "watch", check=False)
    assert res.returncode != 0
    assert res.stderr.strip() == "none of the selected services has develop.watch rules: nothing to watch"


def test_a_bad_rule_names_its_file_line_and_key(host: Host) -> None:
    f = str(host.write("compose.yaml", """name: badwatch
services:
  a:
    image: busybox:latest
    develop:
      watch:
        - {path: ./src, action: sync}
"""))
    res = host.pystack("-f", f, "watch", check=False)
    assert res.returncode != 0
    assert "compose.yaml:7:" in res.stderr and "services.a.develop.watch[0].target" in res.stderr
    assert "Traceback" not in res.stderr
    assert not os.path.exists(host.root / "run" / "stacks" / "badwatch")
