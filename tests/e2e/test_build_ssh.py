"""``RUN --mount=type=ssh`` with Compose's ``build.ssh`` and ``build --ssh``: the step reaches the
agent of ``$SSH_AUTH_SOCK`` (``default``) and a private agent loaded from a key file, through a
socket of its own with the owner and mode the mount asks for; nothing of it stays in the image.

The step asks the agents for their keys with the host's own ``ssh-add``, copied into the build
context with the libraries it links (busybox has no agent client)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Host

pytestmark = pytest.mark.root

DOCKERFILE = """\
FROM busybox:latest
COPY sshtool /opt/ssh
RUN --mount=type=ssh \\
    echo "$SSH_AUTH_SOCK $(stat -c '%a %u' "$SSH_AUTH_SOCK")" > /seen \\
    && /opt/ssh/ld.so --library-path /opt/ssh/lib /opt/ssh/ssh-add -l | cut -d' ' -f3 >> /seen
RUN --mount=type=ssh,id=deploy,target=/tmp/agent,mode=0660,uid=1000,gid=1000 \\
    stat -c '%a %u %g' /tmp/agent | tr ' ' : >> /seen \\
    && SSH_AUTH_SOCK=/tmp/agent /opt/ssh/ld.so --library-path /opt/ssh/lib /opt/ssh/ssh-add -l \\
       | cut -d' ' -f3 >> /seen
RUN --mount=type=ssh,id=absent echo "absent:${SSH_AUTH_SOCK:-unset}" >> /seen
CMD ["sh", "-c", "cat /seen; for p in /run/buildkit /tmp/agent; do test -e $p && echo has-$p; done; true"]
"""

STACK = """
name: buildssh
services:
  s:
    image: buildssh-s
    network_mode: none
    build:
      context: .
      ssh: [default, deploy=./keys/deploy]
"""


def _ssh_tool(into: Path) -> None:
    """``ssh-add`` with the loader and libraries it links, runnable from any root."""
    binary = shutil.which("ssh-add")
    assert binary is not None, "openssh-client is a test dependency"
    (into / "lib").mkdir(parents=True)
    shutil.copy(binary, into / "ssh-add")
    for line in subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        found = re.search(r"(/\S+)", line.split("=>")[-1])
        if found is None:
            continue
        lib = Path(found.group(1))
        target = into / "ld.so" if lib.name.startswith("ld-linux") else into / "lib" / lib.name
        shutil.copy(lib, target)


def _key(where: Path, comment: str, passphrase: str = "") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", str(where)],
                   check=True, capture_output=True)
    return where


@pytest.fixture
def agent(host: Host) -> Iterator[str]:
    """The user's agent: an ``ssh-agent`` of the test holding the key ``user-key``."""
    sock = host.workdir.parent / "user-agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            if sock.exists():
                break
            proc.wait(0.01) if proc.poll() is not None else os.sched_yield()
        key = _key(host.workdir.parent / "user-key", "user-key")
        subprocess.run(["ssh-add", "-q", str(key)], env={**os.environ, "SSH_AUTH_SOCK": str(sock)}, check=True,
                       capture_output=True)
        yield str(sock)
    finally:
        proc.terminate()
        proc.wait(5)


def test_build_steps_reach_the_agents_and_keep_nothing(host: Host, agent: str) -> None:
    host.write("Dockerfile", DOCKERFILE)
    _ssh_tool(host.workdir / "sshtool")
    (host.workdir / "keys").mkdir()
    _key(host.workdir / "keys" / "deploy", "deploy-key")
    f = str(host.write("compose.yaml", STACK))
    res = host.pystack("-f", f, "build", env={"SSH_AUTH_SOCK": agent})
    assert "not honoured" not in res.stderr
    out = host.pystack("-f", f, "run", "--rm", "-T", "s").stdout.splitlines()
    assert out == ["/run/buildkit/ssh_agent.0 600 0", "user-key", "660:1000:1000", "deploy-key", "absent:unset"]
    agents_left = subprocess.run(["pgrep", "-f", "ssh-agent -D -a .*/agent-"], capture_output=True, text=True)
    assert agents_left.stdout == ""  # the private agent stopped with the build
    for blob in (host.root / "blobs").rglob("*"):
        if blob.is_file():
            assert b"OPENSSH PRIVATE KEY" not in blob.read_bytes(), blob

    # `build --ssh` gives the agents on the command line; a missing agent is a one-line error
    host.write("compose.yaml", STACK.replace("ssh: [default, deploy=./keys/deploy]", "dockerfile: Dockerfile"))
    res = host.pystack("-f", f, "build", "--no-cache", "--ssh", "default", check=False)
    assert res.returncode != 0 and "SSH_AUTH_SOCK is unset" in res.stderr and "Traceback" not in res.stderr
    host.pystack("-f", f, "build", "--no-cache", "--ssh", f"default={agent}", "--ssh", "deploy=keys/deploy")
    assert host.pystack("-f", f, "run", "--rm", "-T", "s").stdout.splitlines()[1:4] == \
        ["user-key", "660:1000:1000", "deploy-key"]
    host.pystack("image", "rm", "buildssh-s")


def test_ssh_refusals_are_one_line(host: Host) -> None:
    host.write("Dockerfile", "FROM busybox:latest\nRUN --mount=type=ssh,id=nope,required=true true\n")
    f = str(host.write("compose.yaml", STACK.replace("ssh: [default, deploy=./keys/deploy]", "ssh: [other=./k]")))
    host.write("k", "not a key\n")
    res = host.pystack("-f", f, "build", check=False)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "cannot load" in res.stderr and "k" in res.stderr  # the key file is checked first
    _key(host.workdir / "locked", "locked", passphrase="secret-pass")
    host.write("compose.yaml", STACK.replace("ssh: [default, deploy=./keys/deploy]", "ssh: [other=./locked]"))
    res = host.pystack("-f", f, "build", check=False)
    assert res.returncode != 0 and "passphrase" in res.stderr and "Traceback" not in res.stderr
    _key(host.workdir / "good", "good")
    host.write("compose.yaml", STACK.replace("ssh: [default, deploy=./keys/deploy]", "ssh: [other=./good]"))
    res = host.pystack("-f", f, "build", check=False)
    assert res.returncode != 0 and "id=nope is required" in res.stderr and "no such SSH agent" in res.stderr


def test_a_bad_ssh_entry_is_one_line_at_its_key(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK.replace("ssh: [default, deploy=./keys/deploy]", "ssh: [deploy=]")))
    res = host.pystack("-f", f, "config", check=False)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert res.stderr.strip() == ("compose.yaml:9:12: services.s.build.ssh: invalid ssh 'deploy=': expected "
                                  "default, ID or ID=PATH[,PATH]")
