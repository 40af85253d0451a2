"""``commit`` and ``export``, as Compose's: a service container's changes as a new image that runs
as the container did, and its whole filesystem as a tar. The container keeps running through both
(frozen meanwhile, then resumed)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

STACK = """
name: e2ecommit
services:
  app:
    image: busybox:latest
    environment: {A: "1"}
    working_dir: /tmp
    command: ["sh", "-c", "echo hi > /made && rm /bin/vi && mkdir -p /srv/data && echo v > /srv/data/f && sleep 1000"]
    volumes: ["vol:/vol"]
volumes:
  vol: {}
"""


def _state(host: Host, f: str) -> str:
    [row] = json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)
    return str(row["State"])


def _ready(host: Host, f: str) -> None:
    host.pystack("-f", f, "up", "-d", "--wait")
    for _ in range(100):
        if host.pystack("-f", f, "exec", "-T", "app", "test", "-e", "/srv/data/f", check=False).returncode == 0:
            return
    raise AssertionError("the container never made its changes")


def test_commit_makes_an_image_that_runs_as_the_container_did(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK))
    _ready(host, f)
    host.pystack("-f", f, "exec", "-T", "app", "sh", "-c", "echo in-volume > /vol/v")
    out = host.pystack("-f", f, "commit", "-c", "ENV B=2", "-c", 'LABEL note="committed"', "-m", "snapshot",
                       "-a", "Jane", "app", "snap:1").stdout.strip()
    assert out.startswith("sha256:") and len(out) == 71
    assert _state(host, f) == "running"  # paused for the commit, resumed after
    assert "snap" in host.pystack("image", "ls").stdout
    [doc] = json.loads(host.pystack("image", "inspect", "snap:1").stdout)
    labels = doc["Config"]["Labels"]
    assert labels["note"] == "committed"  # -c LABEL
    assert {k: labels[k] for k in ("com.docker.compose.project", "com.docker.compose.service",
                                   "com.docker.compose.container-number", "com.docker.compose.oneoff")} == {
        "com.docker.compose.project": "e2ecommit", "com.docker.compose.service": "app",
        "com.docker.compose.container-number": "1", "com.docker.compose.oneoff": "False"}

    g = str(host.write("other.yaml", """
name: e2ecommitcheck
services:
  check:
    image: snap:1
    network_mode: none
    pull_policy: never
    command:
      - sh
      - -c
      - cat /made /srv/data/f; test -e /bin/vi || echo vi-gone; test -e /vol/v || echo no-volume-data; echo $$A $$B; pwd
"""))
    res = host.pystack("-f", g, "run", "--rm", "-T", "check")
    assert res.stdout.splitlines() == ["hi", "v", "vi-gone", "no-volume-data", "1 2", "/tmp"]

    # nothing changed since: still a new image, with an empty layer recorded in its history
    again = host.pystack("-f", f, "commit", "--pause=false", "app").stdout.strip()
    assert again.startswith("sha256:") and again != out
    host.pystack("-f", g, "down", "-t", "0")
    host.pystack("-f", f, "down", "-t", "0", "-v")


def test_export_writes_the_container_filesystem_as_a_tar(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK.replace("e2ecommit", "e2eexport")))
    _ready(host, f)
    host.pystack("-f", f, "exec", "-T", "app", "sh", "-c", "echo in-volume > /vol/v")
    host.pystack("-f", f, "export", "-o", "out.tar", "app")
    assert _state(host, f) == "running"
    with tarfile.open(host.workdir / "out.tar") as tf:
        names = set(tf.getnames())
        made = tf.extractfile("made")
        assert made is not None and made.read() == b"hi\n"
    assert "bin/busybox" in names and "bin/vi" not in names and "srv/data/f" in names
    assert "vol/v" not in names  # volumes are not the container's filesystem, as with docker export
    assert not any(n.startswith("proc/") for n in names)

    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f, "export", "app"]
    res = subprocess.run(cmd, cwd=host.workdir, env=host.env(), capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr
    with tarfile.open(fileobj=io.BytesIO(res.stdout)) as tf:
        assert set(tf.getnames()) == names
    host.pystack("-f", f, "down", "-t", "0", "-v")


def test_an_export_ended_by_sigterm_leaves_its_container_running(host: Host) -> None:
    """Frozen while its tree is read: an export stuck on a reader that does not read (a pipe, full)
    and then terminated resumes the container on its way out."""
    f = str(host.write("compose.yaml", STACK.replace("e2ecommit", "e2eexportterm")))
    _ready(host, f)
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f, "export", "app"]
    with subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as proc:
        try:
            for _ in range(200):
                if _state(host, f) == "paused":
                    break
            else:
                raise AssertionError("the export never froze the container")
            proc.terminate()  # nsenter passes it on to the command it runs
            assert proc.wait(timeout=30) != 0
        finally:
            if proc.poll() is None:
                proc.kill()
    assert _state(host, f) == "running"
    host.pystack("-f", f, "down", "-t", "0", "-v")


def test_commit_and_export_errors_are_one_line_and_change_nothing(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK.replace("e2ecommit", "e2ecommiterr")))
    _ready(host, f)
    before = host.pystack("image", "ls").stdout
    for args, words in [
        (["commit", "nosuch"], "no container 1 of service 'nosuch'"),
        (["commit", "--index", "2", "app"], "no container 2"),
        (["commit", "-c", "RUN rm -rf /", "app", "x:1"], "RUN cannot be changed by commit"),
        (["commit", "app", "Not A Name"], "Not A Name"),
        (["export", "-o", "/nonexistent-dir/out.tar", "app"], "/nonexistent-dir/out.tar"),
    ]:
        res = host.pystack("-f", f, *args, check=False)
        assert res.returncode != 0 and words in res.stderr, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr, res.stderr
    assert host.pystack("image", "ls").stdout == before
    assert _state(host, f) == "running"
    host.pystack("-f", f, "down", "-t", "0", "-v")
