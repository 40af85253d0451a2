"""The reference tools, each prepared so that it runs on this machine and touches nothing of the host's.

- crun: inside a private mount namespace without the cgroup2 mount (see nsrunner.py), private --root.
- runc: private --root.
- podman: ``CONTAINERS_CONF`` (runc, cgroupfs, file events, this host's nofile limit), private --root,
  --runroot, --tmpdir and --network-config-dir, network namespace switched to a bench-owned one.
- dockerd: started by the bench with --iptables=false --ip-forward=false, private data/exec roots, pid file
  and unix socket, inside a bench-owned network namespace (so docker0 and its bridges go away with it);
  stopped with SIGTERM after.
- docker-compose v1 (``/usr/bin/docker-compose``, DOCKER_HOST) and podman-compose (``--podman-path`` to a
  wrapper that runs podman as above).
A tool that is missing or fails to prepare is recorded with the reason, and the rest are measured.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import cmd, netns, procs
from bench.sysinfo import version_of


def ns_name(kind: str, workdir: Path) -> str:
    """A network namespace name private to one bench run (two runs on one machine never share one)."""
    return f"psbench-{kind}-{workdir.name.rsplit('-', 1)[-1][:8]}"


DOCKER_CLI = "/usr/bin/docker"  # /usr/local/bin/docker is a newer client without the Debian plumbing
APT_PACKAGES = {"crun": "crun", "runc": "runc", "podman": "podman", "docker": "docker.io",
                "docker-compose": "docker-compose", "podman-compose": "podman-compose"}


def ensure_installed(tool: str, binary: str) -> str | None:
    """Installs the tool's Debian package when its binary is missing; returns why it is unavailable."""
    if shutil.which(binary) or os.path.exists(binary):
        return None
    if os.environ.get("BENCH_NO_INSTALL") == "1" or shutil.which("apt-get") is None:
        return f"{binary} not found"
    pkg = APT_PACKAGES.get(tool, tool)
    res = cmd.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg], timeout=600,
                  env={"DEBIAN_FRONTEND": "noninteractive"})
    if not res.ok or not (shutil.which(binary) or os.path.exists(binary)):
        return f"{binary} not found and apt-get install {pkg} failed"
    return None


# ---------------------------------------------------------------- OCI runtimes


@dataclass
class RuntimePeer:
    name: str
    state_root: Path
    runner: subprocess.Popen[str] | None = None

    def run_argv(self, bundle: Path, cid: str) -> list[str]:
        return [self.name, "--root", str(self.state_root), "run", "--bundle", str(bundle), cid]

    def run(self, bundle: Path, cid: str) -> cmd.Result:
        argv = self.run_argv(bundle, cid)
        if self.runner is None:
            return cmd.run(argv, timeout=60)
        assert self.runner.stdin is not None and self.runner.stdout is not None
        self.runner.stdin.write(json.dumps({"argv": argv}) + "\n")
        self.runner.stdin.flush()
        answer = json.loads(self.runner.stdout.readline() or '{"rc": 127, "seconds": 0, "err": "runner died"}')
        if self.name == "pystack-api":
            argv = ["(Python API) create/start/wait/delete", cid]
        return cmd.Result(argv, int(answer["rc"]), "", str(answer.get("err", "")), float(answer["seconds"]))

    def close(self) -> None:
        if self.runner is not None:
            assert self.runner.stdin is not None
            self.runner.stdin.close()
            try:
                self.runner.wait(10)
            except subprocess.TimeoutExpired:
                self.runner.kill()
                self.runner.wait()
            self.runner = None


def prepare_runtime(name: str, workdir: Path) -> RuntimePeer:
    why = ensure_installed(name, name)
    if why:
        raise RuntimeError(why)
    peer = RuntimePeer(name, workdir / f"{name}-state")
    peer.state_root.mkdir(parents=True, exist_ok=True)
    if name == "crun":
        runner = Path(__file__).resolve().parent / "nsrunner.py"
        proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "python3", str(runner)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.keep_child(proc.pid)
        assert proc.stdout is not None
        hello = json.loads(proc.stdout.readline() or "{}")
        if not hello.get("ready"):
            raise RuntimeError("could not start crun's private mount namespace")
        peer.runner = proc
    return peer


# ---------------------------------------------------------------- engines: podman, docker


@dataclass
class Engine:
    name: str
    cli: list[str]
    env: dict[str, str]
    netns: Path
    image: str
    home: Path
    compose: list[str] | None = None
    compose_tool: str = ""
    daemon: subprocess.Popen[bytes] | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 300) -> cmd.Result:
        return cmd.run([*self.cli, *args], env=self.env, timeout=timeout)

    def names(self, all_: bool = True, label: str | None = None) -> list[str]:
        args = ["ps", "--format", "{{.Names}}"]
        if all_:
            args.insert(1, "-a")
        if label:
            args += ["--filter", f"label={label}"]
        res = self.run(*args, timeout=60)
        return [x for x in res.out.split() if x] if res.ok else []

    def running_in_project(self, project: str) -> int:
        res = self.run("ps", "-q", "--filter", f"label={self.project_label}={project}",
                       "--filter", "status=running", timeout=60)
        return len(res.out.split()) if res.ok else -1

    def in_project(self, project: str) -> int:
        res = self.run("ps", "-aq", "--filter", f"label={self.project_label}={project}", timeout=60)
        return len(res.out.split()) if res.ok else -1

    @property
    def project_label(self) -> str:
        return "io.podman.compose.project" if self.name == "podman" else "com.docker.compose.project"

    def force_remove(self, *names: str, timeout: float = 300) -> cmd.Result:
        """``rm -f`` that kills at once: docker's sends SIGKILL, podman's first waits out the stop
        timeout (10 s for a busybox PID 1 that ignores SIGTERM) unless given ``-t 0``. Clean-up only,
        never timed."""
        extra = ["-t", "0"] if self.name == "podman" else []
        return self.run("rm", "-f", *extra, *names, timeout=timeout)

    def remove_all(self) -> None:
        """Removes every container this private engine has (best effort, between figures)."""
        names = self.names()
        if names:
            self.force_remove(*names)
        if self.name == "podman":
            self.run("network", "prune", "-f", timeout=60)
            self.run("volume", "prune", "-f", timeout=60)
        else:
            self.run("network", "prune", "-f", timeout=60)
            self.run("volume", "prune", "-f", timeout=60)

    def helper_processes(self) -> list[procs.Proc]:
        """The per-container helpers: conmon for podman, containerd-shim for docker."""
        home = str(self.home)
        key = "conmon" if self.name == "podman" else "containerd-shim"
        return [p for p in procs.scan() if p.state != "Z" and key in p.comm and home in p.cmdline]

    def daemon_processes(self) -> list[procs.Proc]:
        """dockerd and its containerd (podman has no daemon)."""
        if self.daemon is None:
            return []
        return [p for p in procs.scan() if p.state != "Z"
                and (p.pid == self.daemon.pid or (p.ppid == self.daemon.pid and p.comm == "containerd"))]

    def close(self) -> None:
        self.remove_all()
        if self.daemon is not None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
            self.daemon = None
        time.sleep(0.2)
        procs.reap_orphans()
        unmount_under(self.home)
        netns.delete(self.netns.name)


def unmount_under(path: Path) -> None:
    """Lazily unmounts whatever a tool left mounted under its private directory, deepest first."""
    prefix = str(path) + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for mp in sorted({m for m in points if m.startswith(prefix) or m == str(path)}, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True, check=False)


def prepare_podman(workdir: Path, image_tar: Path) -> Engine:
    why = ensure_installed("podman", "podman")
    if why:
        raise RuntimeError(why)
    home = workdir / "podman"
    (home / "bin").mkdir(parents=True, exist_ok=True)
    conf = home / "containers.conf"
    conf.write_text(
        "[containers]\n"
        'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f'events_logfile_path = "{home}/events.log"\n'
    )
    ns = netns.create(ns_name("podman", workdir))
    wrapper = home / "bin" / "podman"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec nsenter --net={ns} /usr/bin/podman --root {home}/root --runroot {home}/runroot "
        f'--tmpdir {home}/tmp --network-config-dir {home}/net "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {"CONTAINERS_CONF": str(conf)}
    eng = Engine("podman", [str(wrapper)], env, ns, "localhost/psbench-busybox:latest", home)
    cmd.check(eng.run("import", str(image_tar), "psbench-busybox:latest", timeout=120))
    if ensure_installed("podman-compose", "podman-compose") is None:
        eng.compose = ["podman-compose", "--podman-path", str(wrapper)]
        eng.compose_tool = "podman-compose"
    return eng


def prepare_docker(workdir: Path, image_tar: Path) -> Engine:
    why = ensure_installed("docker", "dockerd") or ensure_installed("docker", DOCKER_CLI)
    if why:
        raise RuntimeError(why)
    home = workdir / "docker"
    home.mkdir(parents=True, exist_ok=True)
    ns = netns.create(ns_name("docker", workdir))
    sock = home / "docker.sock"
    log = open(home / "dockerd.log", "wb")  # noqa: SIM115 - handed to the daemon for its lifetime
    daemon = subprocess.Popen(
        ["nsenter", f"--net={ns}", "dockerd", "--iptables=false", "--ip-forward=false",
         "--data-root", str(home / "data"), "--exec-root", str(home / "exec"),
         "--pidfile", str(home / "dockerd.pid"), "-H", f"unix://{sock}",
         "--bip", "10.231.255.1/24", "--default-address-pool", "base=10.231.0.0/17,size=24"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    procs.keep_child(daemon.pid)
    env = {"DOCKER_HOST": f"unix://{sock}"}
    eng = Engine("docker", [DOCKER_CLI], env, ns, "psbench-busybox:latest", home, daemon=daemon)
    deadline = time.monotonic() + 30
    while True:
        if daemon.poll() is not None:
            eng.daemon = None
            raise RuntimeError(f"dockerd exited ({daemon.returncode}); see {home / 'dockerd.log'}")
        if sock.exists() and eng.run("version", timeout=10).ok:
            break
        if time.monotonic() > deadline:
            eng.close()
            raise RuntimeError("dockerd did not answer within 30 s")
        time.sleep(0.1)
    cmd.check(eng.run("import", str(image_tar), "psbench-busybox:latest", timeout=120))
    if ensure_installed("docker-compose", "/usr/bin/docker-compose") is None:
        eng.compose = ["/usr/bin/docker-compose"]
        eng.compose_tool = "docker-compose"
    return eng


def versions(ctx_engines: dict[str, Engine]) -> dict[str, str]:
    out: dict[str, str] = {}
    for tool, argv in (("crun", ["crun", "--version"]), ("runc", ["runc", "--version"]),
                       ("podman", ["podman", "--version"]), ("docker", [DOCKER_CLI, "--version"]),
                       ("dockerd", ["dockerd", "--version"]), ("containerd", ["containerd", "--version"]),
                       ("conmon", ["conmon", "--version"]), ("netavark", ["/usr/lib/podman/netavark", "--version"]),
                       ("docker-compose", ["/usr/bin/docker-compose", "version", "--short"]),
                       ("podman-compose", ["podman-compose", "--version"])):
        binary = argv[0]
        if shutil.which(binary) or os.path.exists(binary):
            text = version_of(argv)
            if tool == "podman-compose":
                res = cmd.run(argv, timeout=20)
                found = [ln for ln in (res.out + res.err).splitlines() if "podman-compose" in ln]
                text = found[0].strip() if found else text
            out[tool] = text
        else:
            out[tool] = "not installed"
    return out
