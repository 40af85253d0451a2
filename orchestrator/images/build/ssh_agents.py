"""SSH agents for ``RUN --mount=type=ssh`` (Compose's ``build.ssh``, ``build --ssh``).

A step that fetches a private repository needs to sign with a key that must not end up in the
image. As BuildKit does, the build is given agents, not keys: ``default`` (or an id without a path)
is the agent of ``$SSH_AUTH_SOCK``; ``id=/path/to/agent.sock`` another agent; ``id=key[,key]`` key
files, loaded into a private ``ssh-agent`` started for the build and stopped with it (a key that
asks for a passphrase is refused rather than prompted for).

A step never gets the agent's own socket. It gets a socket of its own in the build's scratch tree,
with the owner and mode its mount asks for (BuildKit's defaults: root, 0600), whose connections are
relayed to the agent for the step's length: a build user that is not root can use it, and the
step sees nothing of the host beyond the agent's protocol.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import ImageError

DEFAULT_ID = "default"


@dataclass(frozen=True)
class SshSource:
    """One ``--ssh``/``build.ssh`` entry: an id and the keys (or the running agent) behind it."""
    id: str
    paths: tuple[str, ...] = ()  # none: the agent of $SSH_AUTH_SOCK


def parse_sources(entries: Sequence[str], where: str) -> list[SshSource]:
    """``default``, ``ID``, ``ID=SOCKET`` or ``ID=KEY[,KEY]`` (Docker's ``--ssh`` form)."""
    out: dict[str, SshSource] = {}
    for entry in entries:
        ident, eq, rest = entry.strip().partition("=")
        ident = ident.strip()
        if not ident:
            raise ImageError(f"{where}: ssh {entry!r} names no id (use default, ID or ID=PATH)")
        paths = tuple(p.strip() for p in rest.split(",") if p.strip()) if eq else ()
        if eq and not paths:
            raise ImageError(f"{where}: ssh {entry!r} names no socket or key after '='")
        out[ident] = SshSource(ident, paths)
    return list(out.values())


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


@dataclass
class Agents:
    """The agents a build started or borrowed, by ssh id, and where steps get their sockets."""
    sockets: dict[str, str]  # ssh id -> the agent's socket
    scratch: Path  # a short private directory for the steps' sockets (a socket path is at most 107 bytes)
    made: int = 0

    def step_socket(self) -> Path:
        self.made += 1
        return self.scratch / f"step-{self.made}.sock"


@contextlib.contextmanager
def agents(sources: Sequence[SshSource], environ: Mapping[str, str]) -> Iterator[Agents]:
    """Each source's agent socket by id, for the build's length; private agents are stopped after."""
    if not sources:
        yield Agents({}, Path("/nonexistent"))
        return
    scratch = Path(tempfile.mkdtemp(prefix="pystack-ssh-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, True)
        found: dict[str, str] = {}
        for n, src in enumerate(sources):
            if not src.paths:
                sock = environ.get("SSH_AUTH_SOCK", "")
                if not sock or not _is_socket(sock):
                    raise ImageError(f"ssh {src.id}: no SSH agent: SSH_AUTH_SOCK is "
                                     f"{'unset' if not sock else repr(sock) + ', which is not a socket'}")
                found[src.id] = sock
            elif len(src.paths) == 1 and _is_socket(src.paths[0]):
                found[src.id] = src.paths[0]
            else:
                found[src.id] = stack.enter_context(_private_agent(src, scratch / f"agent-{n}"))
        yield Agents(found, scratch)


@contextlib.contextmanager
def _private_agent(src: SshSource, where: Path) -> Iterator[str]:
    """An ``ssh-agent`` holding the source's keys, its socket in ``where`` (made 0700)."""
    agent_bin, add_bin = shutil.which("ssh-agent"), shutil.which("ssh-add")
    if agent_bin is None or add_bin is None:
        raise ImageError(f"ssh {src.id}: loading key files needs ssh-agent and ssh-add (openssh-client); "
                         "or give the socket of a running agent")
    for key in src.paths:
        if not os.path.isfile(key):
            raise ImageError(f"ssh {src.id}: {key} is neither an agent socket nor a key file")
    where.mkdir(mode=0o700)
    sock = str(where / "agent.sock")
    proc = subprocess.Popen([agent_bin, "-D", "-a", sock], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while not _is_socket(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
                raise ImageError(f"ssh {src.id}: ssh-agent did not start: {err or 'no socket'}")
            time.sleep(0.01)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SSH_AUTH_SOCK": sock, "SSH_ASKPASS_REQUIRE": "never"}
        res = subprocess.run([add_bin, "-q", *src.paths], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=30, start_new_session=True)
        if res.returncode != 0:
            reason = (res.stderr.strip().splitlines() or ["ssh-add failed"])[-1]
            raise ImageError(f"ssh {src.id}: cannot load {', '.join(src.paths)}: {reason} "
                             "(a key with a passphrase needs a running agent: add it there and give its socket)")
        yield sock
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(where, ignore_errors=True)


@contextlib.contextmanager
def relayed(agent: str, path: Path, *, mode: int, uid: int, gid: int) -> Iterator[None]:
    """A socket at ``path`` (``uid:gid``, ``mode``) whose connections are relayed to ``agent``."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stop_r, stop_w = os.pipe()
    threads: list[threading.Thread] = []
    accepting = threading.Thread(target=_accept, args=(listener, agent, stop_r, threads), daemon=True)
    try:
        listener.bind(str(path))
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        listener.listen(16)
        accepting.start()
        yield
    finally:
        os.write(stop_w, b"x")
        if accepting.is_alive():
            accepting.join(5)
        for t in [*threads]:
            t.join(5)
        listener.close()
        os.close(stop_r)
        os.close(stop_w)
        with contextlib.suppress(OSError):
            path.unlink()


def _accept(listener: socket.socket, agent: str, stop: int, threads: list[threading.Thread]) -> None:
    while True:
        ready, _, _ = select.select([listener.fileno(), stop], [], [])
        if stop in ready:
            return
        try:
            client, _ = listener.accept()
        except OSError:
            continue
        t = threading.Thread(target=_relay, args=(client, agent, stop), daemon=True)
        threads.append(t)
        t.start()


def _relay(client: socket.socket, agent: str, stop: int) -> None:
    """Copy both ways until either side closes or the step ends."""
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(agent)
    except OSError:
        client.close()
        upstream.close()
        return
    ends = {client.fileno(): (client, upstream), upstream.fileno(): (upstream, client)}
    try:
        while True:
            ready, _, _ = select.select([*ends, stop], [], [])
            if stop in ready:
                return
            for fd in ready:
                src, dst = ends[fd]
                data = src.recv(65536)
                if not data:
                    return
                dst.sendall(data)
    except OSError:
        return
    finally:
        client.close()
        upstream.close()
