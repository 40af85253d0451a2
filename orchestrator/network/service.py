"""``python -m orchestrator.network.service --root R --project P``: a stack's DNS and port proxy.

One small long-lived process per stack, started by ``up`` (or by any command that finds it
missing) and independent of the supervisor: it reads networks, names and bindings from the state database and follows
their changes (polling SQLite's ``data_version``; SIGHUP re-reads at once), so a restart of the
supervisor or the CLI drops no DNS answer and no forwarded connection. A second copy for the
same project exits at once, which makes "start it if it is not running" safe to call anywhere.
It opens no netlink socket: it never changes a link.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator import isolated
from orchestrator.network.service_pid import MODULE, pid_file, running_service, write_pid
from orchestrator.paths import Paths

if TYPE_CHECKING:
    import subprocess

SAFETY_POLL = 5.0  # seconds; an idle stack's service wakes 12 times a minute, not 240
RETRY = 0.5  # seconds between two tries to bind an address that was not there yet


def poke_service(paths: Paths, project: str) -> None:
    """Tell the running service (if any) that names or ports changed; does not wait."""
    pid = running_service(paths, project)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGHUP)


def _ready_file(paths: Paths, project: str) -> Path:
    return paths.stack_run(project) / "network.ready"


_booting: dict[tuple[str, str], subprocess.Popen[bytes]] = {}  # copies this process started


def spawn_service(
    paths: Paths,
    project: str,
    *,
    host_netns: str | None = None,
    resolv_conf: str | None = None,
    dns_port: int = 53,
    ports: str | None = None,
) -> None:
    """Start the project's service if none runs or boots from here, without waiting for it.

    Its interpreter start-up (about 0.2 s) then overlaps whatever the caller does next;
    :func:`ensure_service` later waits for this copy instead of starting another.
    """
    if running_service(paths, project) is not None:
        return
    proc = _booting.get((str(paths.root), project))
    if proc is not None and proc.poll() is None:
        return
    run = paths.stack_run(project)
    run.mkdir(parents=True, exist_ok=True)
    # its boot is on the path of ``up``, which starts no container before the service answers
    cmd = [*isolated.command(MODULE, site_packages=True),
           "--root", str(paths.root), "--project", project, "--dns-port", str(dns_port)]
    if host_netns:
        cmd += ["--netns", host_netns]
    if resolv_conf:
        cmd += ["--resolv-conf", resolv_conf]
    if ports:
        cmd += ["--ports", ports]
    with contextlib.suppress(FileNotFoundError):
        _ready_file(paths, project).unlink()
    import subprocess  # only to start it: a command that finds it running does without (~2 ms)

    with open(run / "network.log", "ab") as log:
        _booting[(str(paths.root), project)] = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )


def spawned_here(paths: Paths, project: str) -> bool:
    """Whether this process started a copy of the service that has not exited."""
    proc = _booting.get((str(paths.root), project))
    return proc is not None and proc.poll() is None


def abandon(paths: Paths, project: str) -> None:
    """Stop the copy this process started, booting or ready (it removes its own pid and ready
    files): a command that failed before the stack had any container leaves no service behind."""
    proc = _booting.pop((str(paths.root), project), None)
    if proc is None or proc.poll() is not None:
        return
    import subprocess

    proc.terminate()
    try:
        proc.wait(3.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def ensure_service(
    paths: Paths,
    project: str,
    *,
    host_netns: str | None = None,
    resolv_conf: str | None = None,
    dns_port: int = 53,
    ports: str | None = None,
    timeout: float = 5.0,
) -> int:
    """The pid of the project's running service, starting one (detached) if there is none."""
    pid = running_service(paths, project)
    if pid is not None:
        return pid
    key = (str(paths.root), project)
    earlier = _booting.get(key)
    spawn_service(paths, project, host_netns=host_netns, resolv_conf=resolv_conf, dns_port=dns_port, ports=ports)
    proc = _booting.get(key)  # None: one came up between the two looks
    # A copy from an earlier spawn_service may have died since (killed while its exit was still
    # under way when spawn_service looked); it is replaced once rather than reported as a failure.
    inherited = proc is not None and proc is earlier
    ready = _ready_file(paths, project)
    run = paths.stack_run(project)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists() and running_service(paths, project) is not None:
            return int(pid_file(paths, project).read_text())
        if proc is not None and proc.poll() not in (None, 0):
            if not inherited:
                break
            inherited = False
            spawn_service(paths, project, host_netns=host_netns, resolv_conf=resolv_conf, dns_port=dns_port,
                          ports=ports)
            proc = _booting.get(key)
            continue
        # exit status 0: another copy holds the lock, one still booting (a killed CLI may have
        # started it a moment ago); its pid and ready files come once it has looked at the state
        time.sleep(0.01)
    from orchestrator.errors import NetworkFailure

    raise NetworkFailure(f"the network service of {project} did not start; see {run / 'network.log'}")


def notify_service(paths: Paths, project: str, timeout: float = 2.0) -> bool:
    """Ask the running service to re-read the database now and wait until it has (new networks, ports).

    The service writes into its ready file the moment (CLOCK_MONOTONIC, the same in every
    process) at which its last look at the database began; the wait ends once that moment is
    later than the request. A look that was already under way when the signal came, and so may
    have missed the caller's change, does not end it.
    """
    pid = running_service(paths, project)
    if pid is None:
        return False
    ready = _ready_file(paths, project)
    asked = time.monotonic_ns()
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _synced_at(ready) >= asked:
            return True
        if running_service(paths, project) != pid:  # it left (a stop under way): nothing to wait for
            return False
        time.sleep(0.005)
    return False


def _synced_at(ready: Path) -> int:
    try:
        return int(ready.read_text() or 0)
    except (OSError, ValueError):
        return 0


def _mark_ready(ready: Path, synced_at: int) -> None:
    tmp = ready.with_name(ready.name + ".tmp")
    tmp.write_text(str(synced_at))
    tmp.replace(ready)


def _ports_mode(requested: str) -> str:
    if requested == "auto":
        from orchestrator.network import nftports

        return "nft" if nftports.available() else "proxy"
    return requested


SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)


def _warm_up_dns() -> None:
    import dnslib  # noqa: F401


def _main(paths: Paths, project: str, resolv_conf: str, dns_port: int, dns: bool, ports: bool, mode: str) -> None:
    """The service's life, in plain threads: this one follows the state, the reactor serves.

    SIGHUP asks for a look at the state now; SIGTERM and SIGINT end the process. They are blocked
    in every thread (the caller blocked them before any existed) and taken here with
    ``sigtimedwait``, so a burst of SIGHUPs becomes one or two looks and a SIGTERM behind them is
    obeyed right after the look under way.
    """
    import threading

    from orchestrator.network.dns import DnsServer
    from orchestrator.network.proxy import PortForwarder
    from orchestrator.network.reactor import Reactor, spawn
    from orchestrator.network.records import RecordView
    from orchestrator.state.db import connect

    # Two connections: the DNS server's is shared by the reactor, the DNS-over-TCP threads and
    # this thread (behind its lock); the ports' is this thread's alone, so that an nft run never
    # holds up an answer.
    conn = connect(paths.state_db)
    own = connect(paths.state_db)
    lock = threading.RLock()
    reactor = Reactor()
    server = DnsServer(conn, port=dns_port, resolv_conf=resolv_conf, reactor=reactor, lock=lock)
    forwarder = PortForwarder(own, project, reactor)
    kernel = None
    if ports and mode == "nft":
        from orchestrator.network import nftports

        kernel = nftports.KernelPorts(own, str(paths.root), project)
        forwarder.accept = lambda b: not nftports.kernel_bindings([b])
    server.view = RecordView(conn, project)
    ready = _ready_file(paths, project)

    def sync(booting: bool = False) -> bool:
        """Apply the state: every new DNS and port socket is bound when this returns. False when
        one could not be (reported in the log): the loop below tries again soon."""
        ok = True
        if dns:
            ok = server.sync() and ok
        if kernel is not None:
            from orchestrator.errors import NetworkFailure

            try:
                kernel.sync(defer_empty=booting)
            except NetworkFailure as exc:  # no usable nftables here: the proxy takes every port
                print(f"ports: {exc}; forwarding in userland instead", file=sys.stderr)
                forwarder.accept = lambda b: True
        if ports:
            ok = forwarder.sync() and ok
        return ok

    reactor.start()
    try:
        began = time.monotonic_ns()
        ok = sync(booting=True)
        write_pid(paths, project)
        _mark_ready(ready, began)
        if kernel is not None:
            sync()  # what the boot left: the port rules of a crashed run that no binding wants now
        if dns:  # what the first query would otherwise import, now that nobody waits for the service
            spawn(_warm_up_dns, "dns-warm-up")
        # Changes arrive as SIGHUP from whoever makes them (``poke_service``); the slow look at the
        # database only catches a change whose sender died before it could signal.
        with lock:
            version = server.view.version()
        next_look = time.monotonic() + SAFETY_POLL
        while True:
            wait = RETRY if not ok else max(0.0, next_look - time.monotonic())
            info = signal.sigtimedwait(SIGNALS, wait)
            if info is not None and info.si_signo != signal.SIGHUP:
                break
            if info is not None:
                began = time.monotonic_ns()
                ok = sync()
                _mark_ready(ready, began)
                continue
            if not ok:
                ok = sync()
            if time.monotonic() >= next_look:
                next_look = time.monotonic() + SAFETY_POLL
                with lock:
                    v = server.view.version()
                if v != version:
                    version = v
                    ok = sync()
    finally:
        reactor.stop()
        server.close()
        forwarder.close()
        if kernel is not None:
            kernel.close()  # the rules stay: forwarding outlives this process; only the port holds go
        conn.close()
        own.close()


def main(argv: list[str] | None = None) -> int:
    import argparse  # here: the commands that import this module to start or poke the service never parse

    ap = argparse.ArgumentParser(prog=MODULE, description="DNS and published ports of one stack")
    ap.add_argument("--root", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--netns", default=None, help="run in this named netns (the stand-in host in tests)")
    ap.add_argument("--resolv-conf", default="/etc/resolv.conf", help="where the upstream resolvers are listed")
    ap.add_argument("--dns-port", type=int, default=53)
    ap.add_argument("--no-dns", action="store_true")
    ap.add_argument("--no-ports", action="store_true")
    ap.add_argument(
        "--ports",
        choices=("auto", "nft", "proxy"),
        default=os.environ.get("PYSTACK_PORTS", "auto"),
        help="kernel DNAT (nft) or the userland proxy for IPv4 bindings",
    )
    args = ap.parse_args(argv)
    # Before anything else, and before any thread exists (each inherits the mask): a SIGHUP from a
    # command that found the pid file must never end the process, and only _main takes them.
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    paths = Paths(Path(args.root))
    if args.netns:
        from orchestrator.network import nsutil

        nsutil.enter(paths.netns / args.netns)  # before any thread exists, so every thread inherits it
    run = paths.stack_run(args.project)
    run.mkdir(parents=True, exist_ok=True)
    lock = open(run / "network.lock", "wb")  # noqa: SIM115 - held for the life of the process: one service per stack
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0
    try:
        _main(paths, args.project, args.resolv_conf, args.dns_port, not args.no_dns, not args.no_ports,
              _ports_mode(args.ports))
    finally:
        for f in (pid_file(paths, args.project), _ready_file(paths, args.project)):
            with contextlib.suppress(FileNotFoundError):
                if f.name != "network.pid" or f.read_text().strip() == str(os.getpid()):
                    f.unlink()
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
