"""The runtime's public face: the OCI state, an exit status, and the operations every runtime offers.

The orchestrator only talks to containers through this protocol, so pystack's own engine and a
wrapper around crun or runc are interchangeable per service (Compose's ``runtime`` key).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from orchestrator.paths import Paths
    from orchestrator.runtime.attachment import Attachment

OCI_VERSION = "1.0.2"
STATUSES = ("creating", "created", "running", "stopped", "paused")


@dataclass
class ContainerState:
    """The OCI runtime spec's ``state`` of a container, as ``runtime state`` prints it."""
    oci_version: str
    id: str
    status: str
    pid: int | None
    bundle: str
    annotations: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The OCI ``state`` document (state-schema.json): pid only while a process exists."""
        out: dict[str, Any] = {"ociVersion": self.oci_version, "id": self.id, "status": self.status}
        if self.pid is not None and self.status in ("created", "running", "paused"):
            out["pid"] = self.pid
        out["bundle"] = self.bundle
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass
class ExitStatus:
    """How a container's process ended: its exit code or signal, and whether the OOM killer ended it."""
    code: int
    signal: int | None
    oom_killed: bool
    finished_at: float

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "signal": self.signal, "oom_killed": self.oom_killed,
                "finished_at": self.finished_at}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ExitStatus:
        sig = d.get("signal")
        signum = int(sig) if sig is not None else None
        return cls(int(d["code"]), signum, bool(d["oom_killed"]), float(d["finished_at"]))


class Runtime(Protocol):
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
        """Make the container; its PID 1 waits for :meth:`start`.

        ``orphan_exit_command`` is run (detached, its output discarded) by the container's monitor
        once PID 1 has exited and its exit is recorded, if the process that called ``create`` died
        before that: conmon's ``--exit-command``, kept for the case where nobody else is left to act
        on the exit (a ``run --rm`` killed with SIGKILL). A caller that outlives PID 1 but dies
        before it has finished acting on the exit counts too: it has finished once
        ``orphan_exit_unless_gone`` (by default the container's state, which :meth:`delete`
        removes) no longer exists."""

    def start(self, container_id: str) -> None: ...

    def state(self, container_id: str) -> ContainerState: ...

    def kill(self, container_id: str, sig: int | str = "SIGTERM", *, all: bool = False) -> None: ...

    def delete(self, container_id: str, *, force: bool = False) -> None: ...

    def stop(self, container_id: str, sig: int | str = "SIGTERM", timeout: float = 10.0) -> ExitStatus | None: ...

    def wait(self, container_id: str, timeout: float | None = None) -> ExitStatus | None: ...

    def exit_status(self, container_id: str) -> ExitStatus | None: ...

    def attach(self, container_id: str) -> Attachment:
        """The running container's PID 1 input and end, for ``attach`` (its output is in its log)."""
        ...

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
    ) -> int: ...

    def list(self) -> list[ContainerState]: ...

    def ps(self, container_id: str) -> builtins.list[int]: ...

    def pause(self, container_id: str) -> None: ...

    def resume(self, container_id: str) -> None: ...

    def update(self, container_id: str, resources: Mapping[str, Any]) -> None: ...

    def stats(self, container_id: str) -> dict[str, Any]: ...


def get_runtime(name: str | None, paths: Paths) -> Runtime:
    """``None``/"pystack" → pystack's own engine; "crun"/"runc" → that binary driving the same bundles."""
    from orchestrator.errors import RuntimeFailure

    if name in (None, "", "pystack"):
        from orchestrator.runtime.engine import PystackRuntime

        return PystackRuntime(paths)
    if name in ("crun", "runc"):
        from orchestrator.runtime.external import ExternalRuntime

        return ExternalRuntime(name, paths)
    raise RuntimeFailure(f"unknown runtime {name!r} (expected pystack, crun or runc)")
