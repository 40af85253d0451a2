"""``secrets:`` and ``configs:`` reach the containers: where Compose puts them, with their owner and mode,
read-only, never reaching back to the host's file; a changed definition recreates the service."""

from __future__ import annotations

import os
import time

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

STACK = """
name: e2esecrets
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    cap_add: [SYS_ADMIN]      # may remount its mounts read-write: still nothing reaches the host
    secrets:
      - db-password           # file: source, short form
      - token                 # environment: source, from .env
      - source: db-password
        target: custom/pw     # relative: under /run/secrets
        mode: 0400
        uid: "1000"
        gid: "1001"
      - source: token
        target: /etc/abs-token
    configs:
      - greeting              # content: source, at /greeting
      - source: app-conf
        target: /etc/app.conf
        mode: 0440
        gid: "7"
secrets:
  db-password:
    file: ./db/PASSWORD_FILE
  token:
    environment: API_TOKEN
configs:
  greeting:
    content: "hello ${GREETED}"
  app-conf:
    file: ./app.conf
"""


def _exec(host: Host, f: str, script: str, check: bool = True) -> str:
    return host.pystack("-f", f, "exec", "-T", "app", "sh", "-c", script, check=check).stdout


def _stack(host: Host, password_file: str) -> str:
    return str(host.write("compose.yaml", STACK.replace("PASSWORD_FILE", password_file)))


def test_secrets_and_configs_are_mounted_read_only_with_owner_and_mode(host: Host) -> None:
    pw = host.write("db/password.txt", "s3cret\n")
    os.chmod(pw, 0o600)  # as a careful user keeps it: the container still reads its 0444 copy
    host.write("db/other.txt", "changed\n")
    conf = host.write("app.conf", "key = value\n")
    host.write(".env", "API_TOKEN=tok-123\nGREETED=world\n")
    f = _stack(host, "password.txt")
    host.pystack("-f", f, "up", "-d", "--wait")

    files = {
        "/run/secrets/db-password": ("s3cret\n", "444 0 0"),
        "/run/secrets/token": ("tok-123", "444 0 0"),
        "/run/secrets/custom/pw": ("s3cret\n", "400 1000 1001"),
        "/etc/abs-token": ("tok-123", "444 0 0"),
        "/greeting": ("hello world", "444 0 0"),
        "/etc/app.conf": ("key = value\n", "440 0 7"),
    }
    for path, (content, owner) in files.items():
        assert _exec(host, f, f"cat {path}") == content, path
        assert _exec(host, f, f"stat -c '%a %u %g' {path}").strip() == owner, path
    # an image's non-root user reads a secret whose host file is 0600
    out = host.pystack("-f", f, "exec", "-T", "-u", "1234", "app", "cat", "/run/secrets/db-password").stdout
    assert out == "s3cret\n"
    # a one-off container of the service has them too
    out = host.pystack("-f", f, "run", "--rm", "-T", "app", "cat", "/run/secrets/token", "/greeting").stdout
    assert out == "tok-123hello world"

    for path in files:
        res = host.pystack("-f", f, "exec", "-T", "app", "sh", "-c", f"echo x > {path}", check=False)
        assert res.returncode != 0 and "Read-only file system" in res.stderr, path
        res = host.pystack("-f", f, "exec", "-T", "app", "chmod", "666", path, check=False)
        assert res.returncode != 0, path
    # even a container with CAP_SYS_ADMIN that remounts them writable writes pystack's copies only
    _exec(host, f, "mount -o remount,bind,rw /run/secrets/db-password && echo owned > /run/secrets/db-password"
                   " && mount -o remount,bind,rw /etc/app.conf && echo owned > /etc/app.conf")
    assert _exec(host, f, "cat /run/secrets/db-password") == "owned\n"
    assert pw.read_text() == "s3cret\n" and conf.read_text() == "key = value\n"
    assert (os.stat(pw).st_mode & 0o777, os.stat(pw).st_uid) == (0o600, 0)

    # nothing changed: the container stays
    before = _ids(host, f)
    assert "recreate" not in host.pystack("-f", f, "up", "--dry-run").stdout
    # the secret's file path changes: the container is recreated and sees the new file
    f = _stack(host, "other.txt")
    plan = host.pystack("-f", f, "up", "--dry-run").stdout
    assert "recreate e2esecrets-app-1: top-level secrets.db-password.content changed, " \
           "top-level secrets.db-password.file changed" in plan
    host.pystack("-f", f, "up", "-d", "--wait")
    assert _ids(host, f) != before
    assert _exec(host, f, "cat /run/secrets/db-password /run/secrets/custom/pw") == "changed\nchanged\n"
    # an edit of a source's content (here the environment's value) recreates it too
    host.write(".env", "API_TOKEN=tok-456\nGREETED=world\n")
    time.sleep(1.1)  # the stack cache trusts no file modified within the last second
    plan = host.pystack("-f", f, "up", "--dry-run").stdout
    assert "recreate e2esecrets-app-1: top-level secrets.token.content changed" in plan
    host.pystack("-f", f, "up", "-d", "--wait")
    assert _exec(host, f, "cat /run/secrets/token") == "tok-456"

    cdir = host.root / "containers" / next(iter(_ids(host, f).values()))
    assert (cdir / "files").is_dir() and (os.stat(cdir / "files").st_mode & 0o777) == 0o700
    host.pystack("-f", f, "down", "-t", "0")
    assert not cdir.exists()  # the copies go with the container


def test_a_missing_source_is_a_clear_error(host: Host) -> None:
    host.write(".env", "GREETED=x\n")
    host.write("app.conf", "k\n")
    f = _stack(host, "missing.txt")
    res = host.pystack("-f", f, "up", "-d", check=False)
    assert res.returncode != 0
    assert f"secret 'db-password': file {host.workdir}/db/missing.txt does not exist" in res.stderr
    assert "Traceback" not in res.stderr
    host.write("db/missing.txt", "now here\n")
    res = host.pystack("-f", f, "up", "-d", check=False)
    assert "secret 'token': environment variable API_TOKEN is not set" in res.stderr
    assert "Traceback" not in res.stderr
    assert json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout) == []


def _ids(host: Host, f: str) -> dict[str, str]:
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    return {r["Name"]: r["ID"] for r in rows}
