"""Another OCI runtime (crun or runc) driving the same bundles, behind pystack's Runtime protocol.

pystack's own monitor stays the parent of PID 1: it becomes a child subreaper, runs
``<runtime> create``, and inherits the container's init when the runtime exits, so logs,
exit codes and OOM flags are recorded exactly as for pystack's engine. crun 1.8 refuses this
host's hybrid cgroup layout, so every crun call runs in a private mount namespace where the
cgroup2 mount at /sys/fs/cgroup/unified is unmounted (the host's own mounts are untouched).
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from orchestrator.errors import RuntimeFailure
from orchestrator.paths import Paths
from orchestrator.runtime import kernel as k
from orchestrator.runtime import monitor, monitor_plan, spec
from orchestrator.runtime.api import ContainerState, ExitStatus
from orchestrator.runtime.engine import PystackRuntime, parse_signal
from orchestrator.runtime.jsonfile import write_json
from orchestrator.runtime.store import ContainerDir, start_time


class ExternalRuntime(PystackRuntime):
    def __init__(self, name: str, paths: Paths) -> None:
        super().__init__(paths)
        self.name = name
        self.binary = shutil.which(name)
        if self.binary is None:
            raise RuntimeFailure(f"runtime {name} is not installed")
        self.base = paths.run / f"runtime-{name}"
        self.oci_root = paths.run / f"{name}-root"

    def argv(self, *args: str) -> list[str]:
        assert self.binary is not None
        cmd = [self.binary, "--root", str(self.oci_root), *args]
        if self.name != "crun" or not os.path.ismount("/sys/fs/cgroup/unified"):
            return cmd
        script = 'umount /sys/fs/cgroup/unified && exec "$@"'
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *cmd]

    def _call(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(self.argv(*args), capture_output=True, text=True, check=False)
        if check and res.returncode != 0:
            msg = (res.stderr or res.stdout).strip().splitlines()
            raise RuntimeFailure(f"{self.name} {args[0]}: {msg[-1] if msg else 'failed'}")
        return res

    def create(
        self,
        container_id: str,
        bundle: Path,
        *,
        pid_file: Path | None = None,
        console_socket: Path | None = None,
        log_path: Path | None = None,
        log_max_size: int | None = None,
        log_max_files: int = 1,
        attach_stdin: bool = False,
        open_stdin: bool = False,
        orphan_exit_command: Sequence[str] = (),
        orphan_exit_unless_gone: Path | None = None,
    ) -> None:
        cdir = ContainerDir(self.base, container_id)
        bundle = Path(bundle).absolute()
        cfg = spec.load_config(bundle)
        linux = cfg.get("linux") or {}
        plan = monitor_plan.MonitorPlan(
            cdir=cdir, cfg=cfg, bundle=str(bundle), ns_new=0, pid_ns=(None, False), time_ns=False,
            cgroups_path=(linux.get("cgroupsPath") or "").strip("/") or None, seccomp_bpf=None,
            log_path=str(log_path) if log_path else None, log_max_size=log_max_size, log_max_files=log_max_files,
            console_socket=str(console_socket) if console_socket else None, attach_stdin=attach_stdin,
            open_stdin=open_stdin and not attach_stdin, orphan_exit_command=list(orphan_exit_command),
            orphan_exit_unless_gone=str(orphan_exit_unless_gone or cdir.dir),
            own_console=bool((cfg.get("process") or {}).get("terminal")) and console_socket is None,
        )
        if plan.own_console and not log_path:
            raise RuntimeFailure("process.terminal needs --console-socket")
        self.base.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.oci_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            cdir.dir.mkdir(mode=0o700)
        except FileExistsError:
            raise RuntimeFailure(f"container {container_id} already exists") from None
        report = monitor.spawn(plan, self._monitor_body)
        if "error" in report:
            shutil.rmtree(cdir.dir, ignore_errors=True)
            raise RuntimeFailure(f"create {container_id}: {report['error']}")
        if pid_file is not None:
            Path(pid_file).write_text(str(report["pid"]))

    def _monitor_body(self, plan: monitor_plan.MonitorPlan, report_fd: int) -> None:
        """Runs in the monitor: become subreaper, let the runtime create, adopt its init."""
        k.prctl(k.PR_SET_CHILD_SUBREAPER, 1)
        devnull = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        pipes: dict[int, str] = {}
        held: list[int] = []  # the write end of an open stdin: held, unwritten, while PID 1 runs
        stdio: list[int] = [devnull, devnull, devnull]
        if plan.log_path and not plan.own_console:
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            pipes = {out_r: "stdout", err_r: "stderr"}
            stdio = [0 if plan.attach_stdin else devnull, out_w, err_w]
            if plan.open_stdin:
                in_r, in_w = os.pipe2(os.O_CLOEXEC)
                stdio[0] = in_r
                held.append(in_w)
        pid_file = plan.cdir.dir / "init.pid"
        log = plan.cdir.dir / "runtime.log"
        args = ["--log", str(log), "create", "--bundle", str(plan.bundle), "--pid-file", str(pid_file)]
        if plan.own_console:
            from orchestrator.runtime.console_socket import ConsoleSocket

            console: ConsoleSocket | None = ConsoleSocket(timeout=10.0)
        else:
            console = None
        if console is not None:  # the runtime's pty comes here and is logged, as conmon does
            args += ["--console-socket", str(console.path)]
        elif plan.console_socket:
            args += ["--console-socket", plan.console_socket]
        try:
            res = subprocess.run(self.argv(*args[:2], *args[2:], plan.cdir.id), stdin=stdio[0], stdout=stdio[1],
                                 stderr=stdio[2], check=False)
            if console is not None and res.returncode == 0:
                pipes = {console.receive(): "stdout"}
        finally:
            if console is not None:
                console.close()
        for fd in set(stdio) - {0}:  # 0: the caller's own stdin, which the init was handed
            os.close(fd)
        if res.returncode != 0:
            text = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
            last = text[-1] if text else f"exit status {res.returncode}"
            with contextlib.suppress(ValueError):
                last = json.loads(last).get("msg", last)
            os.write(report_fd, json.dumps({"error": f"{self.name}: {last}"}).encode())
            return
        pid = int(pid_file.read_text().strip())
        pidfd = os.pidfd_open(pid)
        mypid = os.getpid()
        write_json(plan.cdir.state_file, {
            "id": plan.cdir.id, "pid": pid, "pid_start": start_time(pid), "monitor_pid": mypid,
            "monitor_start": start_time(mypid), "bundle": str(plan.bundle), "annotations": {},
            "cgroups_path": plan.cgroups_path, "log_path": plan.log_path,
        })
        os.write(report_fd, json.dumps({"pid": pid}).encode())
        os.close(report_fd)
        for i in (0, 1, 2):
            os.dup2(os.open("/dev/null", os.O_RDWR), i)
        monitor.record_exit(plan, pid, pidfd, pipes, plan.cgroups_path, held)

    def start(self, container_id: str) -> None:
        self._dir(container_id).load()
        self._call("start", container_id)

    def state(self, container_id: str) -> ContainerState:
        cdir = self._dir(container_id)
        data = cdir.load()
        res = self._call("state", container_id, check=False)
        if res.returncode != 0 or cdir.exit_file.exists():
            return ContainerState("1.0.2", container_id, "stopped", None, data["bundle"], {})
        st = json.loads(res.stdout)
        return ContainerState(st.get("ociVersion", "1.0.2"), container_id, st["status"], st.get("pid"),
                              st.get("bundle", data["bundle"]), st.get("annotations") or {})

    def kill(self, container_id: str, sig: int | str = "SIGTERM", *, all: bool = False) -> None:
        self._dir(container_id).load()
        self._call("kill", *(["--all"] if all else []), container_id, str(parse_signal(sig)))

    def delete(self, container_id: str, *, force: bool = False) -> None:
        cdir = self._dir(container_id)
        data = cdir.load()
        if self.state(container_id).status in ("running", "paused") and not force:
            raise RuntimeFailure(f"container {container_id} is running: stop it first or delete --force")
        self._call("delete", "--force", container_id, check=False)
        self._wait_monitor(data, 10.0)
        remove_empty_parents(data.get("cgroups_path"))
        shutil.rmtree(cdir.dir, ignore_errors=True)

    def wait(self, container_id: str, timeout: float | None = None) -> ExitStatus | None:
        return super().wait(container_id, timeout)

    def ps(self, container_id: str) -> builtins.list[int]:
        res = self._call("ps", "--format", "json", container_id)
        return sorted(int(p) for p in json.loads(res.stdout or "[]"))

    def pause(self, container_id: str) -> None:
        self._call("pause", container_id)

    def resume(self, container_id: str) -> None:
        self._call("resume", container_id)

    def update(self, container_id: str, resources: Mapping[str, Any]) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(dict(resources), f)
            f.flush()
            self._call("update", "--resources", f.name, container_id)

    def stats(self, container_id: str) -> dict[str, Any]:
        data = self._dir(container_id).load()
        if not data.get("cgroups_path"):
            return {}
        return super().stats(container_id)

    def exec(
        self,
        container_id: str,
        process: Mapping[str, Any],
        *,
        tty: bool = False,
        detach: bool = False,
        stdin: IO[Any] | int | None = None,
        stdout: IO[Any] | int | None = None,
        stderr: IO[Any] | int | None = None,
    ) -> int:
        from orchestrator.runtime.exec_ import full_process

        data = self._dir(container_id).load()
        proc = full_process(spec.load_config(Path(data["bundle"])), process)
        proc["terminal"] = tty
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(proc, f)
            f.flush()
            args = ["exec", "--process", f.name, *(["--detach"] if detach else []),
                    *(["--tty"] if tty and self.name == "crun" else []), container_id]
            res = subprocess.run(self.argv(*args), stdin=stdin, stdout=stdout, stderr=stderr, check=False)
        if res.returncode < 0:
            return 128 - res.returncode
        return res.returncode


def remove_empty_parents(cgroups_path: str | None, fs_root: Path = Path("/sys/fs/cgroup")) -> None:
    """crun and runc remove a container's own cgroup but leave the parents they made (``pystack/``)
    in every hierarchy, ``name=systemd`` included. Remove those that are now empty: ``rmdir`` of a
    cgroup fails while it has children or processes, so this can never touch one in use."""
    parts = [p for p in (cgroups_path or "").strip("/").split("/") if p]
    if len(parts) < 2 or not fs_root.is_dir():
        return
    for hierarchy in fs_root.iterdir():
        for depth in range(len(parts) - 1, 0, -1):
            with contextlib.suppress(OSError):
                (hierarchy / "/".join(parts[:depth])).rmdir()
