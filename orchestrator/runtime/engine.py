"""pystack's own OCI runtime: the lifecycle verbs over a per-container state directory and monitor.

``create`` forks a monitor that builds the container and leaves its PID 1 blocked on
``exec.fifo``; ``start`` releases it; every other verb works from any process by reading the
state directory (pids are checked against their start times). Exit codes come from the
monitor's ``exit.json``, so ``wait`` works even if the creator is long gone.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import select
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from orchestrator.errors import CgroupError, RuntimeFailure
from orchestrator.paths import Paths
from orchestrator.runtime import spec
from orchestrator.runtime.api import OCI_VERSION, ContainerState, ExitStatus
from orchestrator.runtime.store import ContainerDir, alive, owner_gone, read_json, write_owner_note

if TYPE_CHECKING:
    from orchestrator.runtime import monitor_plan
    from orchestrator.runtime.attachment import Attachment

KILLING = "killing"  # present while a kill of the whole cgroup (which freezes it) is under way
_JOIN_ORDER = ("ipc", "uts", "network", "cgroup", "mount")  # mount last: paths resolve on the host first
_UNSHARE = ("mount", "uts", "ipc", "network", "cgroup")


def parse_signal(sig: int | str) -> int:
    if isinstance(sig, int):
        return sig
    s = sig.strip().upper()
    if s.isdigit():
        return int(s)
    name = s if s.startswith("SIG") else "SIG" + s
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise RuntimeFailure(f"unknown signal {sig!r}") from None


class PystackRuntime:
    def __init__(self, paths: Paths, *, use_zygote: bool = True) -> None:
        self.paths = paths
        self.base = paths.runtime_state
        # Long-lived containers: monitors from the zygote share their memory. A one-shot ``run``
        # from a short-lived process forks its monitor directly (no zygote to start).
        self.use_zygote = use_zygote

    def _dir(self, container_id: str) -> ContainerDir:
        return ContainerDir(self.base, container_id)

    # -- create / start ---------------------------------------------------------------------------
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
        cdir = self._dir(container_id)
        bundle = Path(bundle).absolute()
        cfg = spec.load_config(bundle)
        if "process" not in cfg:
            raise RuntimeFailure(f"{bundle}/config.json: process is required to create a container")
        from orchestrator.runtime.devicerules import with_default_devices  # create only: not every command's import

        with_default_devices(cfg)
        self.base.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            cdir.dir.mkdir(mode=0o700)
        except FileExistsError:
            raise RuntimeFailure(f"container {container_id} already exists") from None
        try:
            plan = self._plan(cdir, cfg, bundle, log_path, log_max_size, log_max_files, console_socket)
            plan.attach_stdin = attach_stdin
            plan.open_stdin = open_stdin and not attach_stdin
            plan.orphan_exit_command = list(orphan_exit_command)
            plan.orphan_exit_unless_gone = str(orphan_exit_unless_gone or cdir.dir)
            from orchestrator.runtime import launch  # cgroups and the monitor: only create needs them

            # a monitor the zygote forks has no caller to outlive: one with an exit command is this one's
            pid = launch.launch(plan, use_zygote=self.use_zygote and not attach_stdin and not orphan_exit_command)
        except BaseException:
            import shutil

            shutil.rmtree(cdir.dir, ignore_errors=True)
            raise
        if pid_file is not None:
            Path(pid_file).write_text(str(pid))

    def _plan(
        self,
        cdir: ContainerDir,
        cfg: dict[str, Any],
        bundle: Path,
        log_path: Path | None,
        log_max_size: int | None,
        log_max_files: int,
        console_socket: Path | None,
    ) -> monitor_plan.MonitorPlan:
        ns = spec.namespaces(cfg)
        linux = cfg.get("linux") or {}
        userns = "user" in ns
        if userns:
            if ns["user"] is not None or ns.get("pid"):
                raise RuntimeFailure("joining an existing user or PID namespace with a user namespace is not supported")
            if not linux.get("uidMappings") or not linux.get("gidMappings"):
                raise RuntimeFailure("a user namespace needs linux.uidMappings and linux.gidMappings")
        if "mount" not in ns:
            raise RuntimeFailure("a mount namespace is required (pivot_root needs one)")
        proc = cfg.get("process") or {}
        # A label the host cannot enforce is refused, never dropped: the bundle asked for confinement.
        from orchestrator.runtime.procsetup import lsm_enabled

        if proc.get("apparmorProfile") and not lsm_enabled("apparmor"):
            raise RuntimeFailure("process.apparmorProfile: AppArmor is not enabled on this host")
        for key, label in (("process.selinuxLabel", proc.get("selinuxLabel")),
                           ("linux.mountLabel", linux.get("mountLabel"))):
            if label and not lsm_enabled("selinux"):
                raise RuntimeFailure(f"{key}: SELinux is not enabled on this host")
        if (cfg.get("process") or {}).get("terminal") and console_socket is None and log_path is None:
            raise RuntimeFailure("process.terminal needs --console-socket")
        # Here rather than at the top: kernel loads ctypes (~1.8 ms), which a command that only
        # reads containers' states (up with nothing to do, ps, down) never needs.
        from orchestrator.runtime import kernel as k

        new = 0
        for t in _UNSHARE:
            if t in ns and ns[t] is None:
                new |= k.NS_FLAGS[t]
        join = [(p, k.NS_FLAGS[t]) for t in _JOIN_ORDER if (p := ns.get(t))]
        join_fds: list[tuple[int, int]] = []
        for p, flag in join:
            try:
                join_fds.append((os.open(p, os.O_RDONLY | os.O_CLOEXEC), flag))
            except OSError as exc:
                for fd, _ in join_fds:
                    os.close(fd)
                raise RuntimeFailure(f"namespace path {p}: {exc.strerror}") from None
        cg_path = (linux.get("cgroupsPath") or f"pystack/{cdir.id}").strip("/")
        bpf = None
        if linux.get("seccomp"):
            from orchestrator.runtime import seccomp

            bpf = seccomp.compile_cached(linux["seccomp"], self.paths.run / "seccomp")
        from orchestrator.runtime.monitor_plan import MonitorPlan

        return MonitorPlan(
            cdir=cdir, cfg=cfg, bundle=str(bundle), ns_new=new, ns_join_fds=join_fds,
            pid_ns=(ns.get("pid"), "pid" in ns and ns["pid"] is None), time_ns="time" in ns and ns["time"] is None,
            cgroups_path=cg_path, seccomp_bpf=bpf,
            log_path=str(log_path) if log_path else None, log_max_size=log_max_size, log_max_files=log_max_files,
            console_socket=str(console_socket) if console_socket else None, userns=userns,
            own_console=bool(proc.get("terminal")) and console_socket is None,
        )

    def start(self, container_id: str) -> None:
        cdir = self._dir(container_id)
        data = cdir.load()
        declared = data.get("hooks") or {}
        try:
            fd = os.open(cdir.fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except (FileNotFoundError, OSError):
            raise RuntimeFailure(f"container {container_id} is not in the created state") from None
        result = os.open(cdir.start_result, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC) \
            if declared.get("startContainer") else -1
        try:
            try:
                os.write(fd, b"S")
            finally:
                os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(cdir.fifo)
            if result >= 0:
                self._start_hooks_outcome(container_id, result, declared["startContainer"])
        finally:
            if result >= 0:
                os.close(result)
        if declared.get("poststart"):
            from orchestrator.runtime import hooks

            state = hooks.state_json(container_id, "running", data.get("pid"), data["bundle"],
                                     data.get("annotations"), data.get("oci_version", ""))
            hooks.run_all_warning(declared["poststart"], state, "poststart", self.warn)

    def _start_hooks_outcome(self, container_id: str, fd: int, declared: list[dict[str, Any]]) -> None:
        """EOF once the init's execve closed its end; ``E<message>`` when a startContainer hook failed."""
        limit = sum(int(h.get("timeout") or 60) for h in declared) + 5
        if not select.select([fd], [], [], limit)[0]:
            raise RuntimeFailure(f"container {container_id}: startContainer hooks did not finish in {limit} s")
        msg = os.read(fd, 65536)
        if msg.startswith(b"E"):
            raise RuntimeFailure(msg[1:].decode("utf-8", "replace"))

    def warn(self, msg: str) -> None:
        """poststart and poststop failures are warnings (runtime-spec); the CLI shows them on stderr."""
        sys.stderr.write(f"pystack runtime: warning: {msg}\n")

    # -- state ------------------------------------------------------------------------------------
    def _status(self, cdir: ContainerDir, data: Mapping[str, Any]) -> str:
        if cdir.exit_file.exists():
            return "stopped"
        if not alive(data.get("pid"), data.get("pid_start")):
            return "stopped"
        if cdir.fifo.exists():
            return "created"
        if (cdir.dir / KILLING).exists():
            self._finish_cut_kill(cdir, data)
        if (cdir.dir / "paused").exists():
            return "paused"
        return "running"

    def _kill_all(self, cdir: ContainerDir, cg: Any, signum: int) -> None:
        """Signal the whole cgroup, leaving a note of who does it while the cgroup may be frozen.

        ``kill_all`` freezes the cgroup around the signal (so no fork escapes it); a caller killed
        inside that window (a ``down`` interrupted by kill -9) would leave a container that counts
        as running but never runs again. The note lets the next look at the container thaw it.
        """
        note = cdir.dir / KILLING
        write_owner_note(note)
        try:
            cg.kill_all(signum)
        finally:
            with contextlib.suppress(FileNotFoundError):
                note.unlink()

    def _finish_cut_kill(self, cdir: ContainerDir, data: Mapping[str, Any]) -> None:
        """Thaw a cgroup whose killer died while it was frozen (unless the container is paused)."""
        note = cdir.dir / KILLING
        if not owner_gone(note):
            return  # a kill in progress: it thaws when it is done
        cg = self._cgroup(data)
        if cg.exists() and not (cdir.dir / "paused").exists():
            with contextlib.suppress(OSError, RuntimeFailure, CgroupError):
                cg.thaw()
        with contextlib.suppress(FileNotFoundError):
            note.unlink()

    def state(self, container_id: str) -> ContainerState:
        cdir = self._dir(container_id)
        data = cdir.load()
        status = self._status(cdir, data)
        return ContainerState(
            oci_version=data.get("oci_version") or OCI_VERSION, id=container_id, status=status,
            pid=data.get("pid") if status != "stopped" else None, bundle=data["bundle"],
            annotations=dict(data.get("annotations") or {}),
        )

    def list(self) -> list[ContainerState]:
        out: builtins.list[ContainerState] = []
        if not self.base.is_dir():
            return out
        for entry in sorted(os.listdir(self.base)):
            if not (self.base / entry).is_dir():
                continue  # the zygote's socket and lock live here too
            try:
                out.append(self.state(entry))
            except RuntimeFailure:
                continue
        return out

    # -- signals, delete --------------------------------------------------------------------------
    def kill(self, container_id: str, sig: int | str = "SIGTERM", *, all: bool = False) -> None:
        signum = parse_signal(sig)
        cdir = self._dir(container_id)
        data = cdir.load()
        status = self._status(cdir, data)
        if status == "stopped":
            raise RuntimeFailure(f"container {container_id} is not running")
        if all:
            self._kill_all(cdir, self._cgroup(data), signum)
            return
        try:
            pidfd = os.pidfd_open(data["pid"])
        except ProcessLookupError:
            raise RuntimeFailure(f"container {container_id} is not running") from None
        try:
            signal.pidfd_send_signal(pidfd, signum)
        except ProcessLookupError:
            raise RuntimeFailure(f"container {container_id} is not running") from None
        finally:
            os.close(pidfd)

    def stop(self, container_id: str, sig: int | str = "SIGTERM", timeout: float = 10.0) -> ExitStatus | None:
        """Compose's stop: ``sig`` to PID 1, then SIGKILL to the whole cgroup after ``timeout`` seconds."""
        if self.state(container_id).status == "stopped":
            return self.exit_status(container_id)
        with contextlib.suppress(RuntimeFailure):
            self.kill(container_id, sig)
        st = self.wait(container_id, timeout)
        if st is None:
            with contextlib.suppress(RuntimeFailure):
                self.kill(container_id, signal.SIGKILL, all=True)
            st = self.wait(container_id, 10.0)
        return st

    def delete(self, container_id: str, *, force: bool = False) -> None:
        cdir = self._dir(container_id)
        data = read_json(cdir.state_file)
        if data is None:
            self._delete_unfinished(cdir)
            return
        status = self._status(cdir, data)
        if status in ("running", "paused") and not force:
            raise RuntimeFailure(f"container {container_id} is {status}: stop it first or delete --force")
        cg = self._cgroup(data) if data.get("cgroups_path") else None
        if status != "stopped":
            with contextlib.suppress(ProcessLookupError):
                os.kill(data["pid"], signal.SIGKILL)
        gone = False
        if cg is not None and status == "stopped" and cdir.exit_file.exists():
            # The monitor has recorded the exit (and read the OOM count): the usual cgroup is
            # empty now, and goes with one rmdir per hierarchy, nothing read or signalled.
            gone = cg.remove_if_empty()
        if cg is not None and not gone and cg.exists() and (status != "stopped" or cg.procs()):
            self._kill_all(cdir, cg, signal.SIGKILL)
            if status == "paused":
                cg.thaw()
        self._wait_monitor(data, 10.0)
        if cg is not None and not gone and cg.exists():
            self._destroy(cg)
        import shutil  # here, not at the top: a command that only reads states never loads its archive modules

        shutil.rmtree(cdir.dir, ignore_errors=True)
        poststop = (data.get("hooks") or {}).get("poststop")
        if poststop:
            from orchestrator.runtime import hooks

            state = hooks.state_json(container_id, "stopped", None, data["bundle"], data.get("annotations"),
                                     data.get("oci_version", ""))
            hooks.run_all_warning(poststop, state, "poststop", self.warn)

    @staticmethod
    def _destroy(cg: Any) -> None:
        """``destroy()`` until it succeeds, 2 s at most: tasks just killed leave their cgroup a
        moment later, and one that forked meanwhile is killed again."""
        for _ in range(100):
            try:
                cg.destroy()
                return
            except Exception:
                with contextlib.suppress(Exception):
                    cg.kill_all(signal.SIGKILL)
                time.sleep(0.02)

    def _delete_unfinished(self, cdir: ContainerDir) -> None:
        """Undo a create whose caller was killed before it wrote ``state.json``.

        The cgroup exists from before the init is forked (which is born in it), so without this
        a ``down`` after such a kill left the cgroup, empty or holding an init that waits for a
        "go" that never comes, on the host. Refused while the creating process still runs.
        """
        if not cdir.dir.is_dir():
            raise RuntimeFailure(f"container {cdir.id} does not exist", exit_code=1)
        note = read_json(cdir.create_file) or {}
        if note and alive(note.get("pid"), note.get("pid_start")):
            raise RuntimeFailure(f"container {cdir.id} is being created")
        if note.get("cgroups_path"):
            from orchestrator.cgroups import open_cgroup

            cg = open_cgroup(note["cgroups_path"])
            if cg.exists():
                self._destroy(cg)  # kills what is in it (the init), then one rmdir per hierarchy
        import shutil

        shutil.rmtree(cdir.dir, ignore_errors=True)

    def attach(self, container_id: str) -> Attachment:
        from orchestrator.runtime import attachment

        cdir = self._dir(container_id)
        data = cdir.load()
        if self._status(cdir, data) not in ("running", "paused") or not data.get("monitor_pid"):
            raise RuntimeFailure(f"container {container_id} is not running")
        return attachment.attach(int(data["pid"]), data.get("pid_start"), int(data["monitor_pid"]),
                                 data.get("monitor_start"))

    # -- exit -------------------------------------------------------------------------------------
    def exit_status(self, container_id: str) -> ExitStatus | None:
        data = read_json(self._dir(container_id).exit_file)
        return ExitStatus.from_json(data) if data else None

    def wait(self, container_id: str, timeout: float | None = None) -> ExitStatus | None:
        cdir = self._dir(container_id)
        data = cdir.load()
        if not self._wait_monitor(data, timeout):
            return None
        st = self.exit_status(container_id)
        if st is None:
            raise RuntimeFailure(f"the monitor of {container_id} is gone without recording an exit status")
        return st

    def _wait_monitor(self, data: Mapping[str, Any], timeout: float | None) -> bool:
        mpid = data.get("monitor_pid")
        if not alive(mpid, data.get("monitor_start")):
            return True
        try:
            pidfd = os.pidfd_open(int(mpid))  # type: ignore[arg-type]
        except ProcessLookupError:
            return True
        try:
            if not alive(mpid, data.get("monitor_start")):
                return True
            return bool(select.select([pidfd], [], [], timeout)[0])
        finally:
            os.close(pidfd)

    # -- cgroup-backed verbs ----------------------------------------------------------------------
    def _cgroup(self, data: Mapping[str, Any]) -> Any:
        from orchestrator.cgroups import open_cgroup

        return open_cgroup(data["cgroups_path"])

    def ps(self, container_id: str) -> builtins.list[int]:
        data = self._dir(container_id).load()
        cg = self._cgroup(data)
        return sorted(cg.procs()) if cg.exists() else []

    def pause(self, container_id: str) -> None:
        cdir = self._dir(container_id)
        data = cdir.load()
        if self._status(cdir, data) != "running":
            raise RuntimeFailure(f"container {container_id} is not running")
        self._cgroup(data).freeze()
        (cdir.dir / "paused").touch()

    def resume(self, container_id: str) -> None:
        cdir = self._dir(container_id)
        data = cdir.load()
        if self._status(cdir, data) != "paused":
            raise RuntimeFailure(f"container {container_id} is not paused")
        self._cgroup(data).thaw()
        (cdir.dir / "paused").unlink(missing_ok=True)

    def update(self, container_id: str, resources: Mapping[str, Any]) -> None:
        data = self._dir(container_id).load()
        self._cgroup(data).apply(resources)

    def stats(self, container_id: str) -> dict[str, Any]:
        import dataclasses

        data = self._dir(container_id).load()
        return dataclasses.asdict(self._cgroup(data).stats())

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
        from orchestrator.runtime import exec_

        cdir = self._dir(container_id)
        data = cdir.load()
        if self._status(cdir, data) != "running":
            raise RuntimeFailure(f"container {container_id} is not running")
        return exec_.run_exec(self, data, process, tty=tty, detach=detach, stdin=stdin, stdout=stdout, stderr=stderr)
