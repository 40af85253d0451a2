"""OCI lifecycle hooks: programs the bundle asks to run at fixed points of a container's life.

Where each runs (runtime-spec, config.md "POSIX-platform Hooks"):

=================  ======================================  ===========================  ==========
hook               when                                    namespaces / path resolved   on failure
=================  ======================================  ===========================  ==========
prestart           namespaces made, before pivot_root      the runtime's                create fails
createRuntime      same (prestart is its deprecated name)  the runtime's                create fails
createContainer    mounts made, just before pivot_root     the container's / runtime's  create fails
startContainer     at start, just before the user program  the container's              start fails
poststart          after start, before ``start`` returns   the runtime's                warning
poststop           after delete, before ``delete`` returns the runtime's                warning
=================  ======================================  ===========================  ==========

Each hook gets the container's state JSON on stdin. The runner uses only ``os`` (posix_spawn, a
pidfd and select) because the container's init runs two of the phases after imports are blocked
and, for startContainer, after pivot_root: nothing may be loaded from the container's files then.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import time
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.errors import RuntimeFailure

PHASES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
#: Phases that need the init to pause and hear the container's state from the caller.
INIT_PHASES = ("prestart", "createRuntime", "createContainer", "startContainer")
STDERR_KEPT = 2000


class HookFailed(RuntimeFailure):
    pass


def of(cfg: Mapping[str, Any], phase: str) -> list[dict[str, Any]]:
    return list((cfg.get("hooks") or {}).get(phase) or [])


def needs_init_handshake(cfg: Mapping[str, Any]) -> bool:
    return any(of(cfg, p) for p in INIT_PHASES)


def state_json(container_id: str, status: str, pid: int | None, bundle: str,
               annotations: Mapping[str, str] | None, oci_version: str) -> bytes:
    doc: dict[str, Any] = {"ociVersion": oci_version or "1.2.0", "id": container_id, "status": status,
                           "bundle": bundle}
    if pid:
        doc["pid"] = pid
    if annotations:
        doc["annotations"] = dict(annotations)
    return json.dumps(doc).encode()


def with_status(state: bytes, status: str) -> bytes:
    doc = json.loads(state)
    doc["status"] = status
    return json.dumps(doc).encode()


def validate(where: str, hooks: Any) -> None:
    """Refuse malformed hooks at create time, naming the key, rather than failing half-way."""
    if hooks is None:
        return
    if not isinstance(hooks, dict):
        raise RuntimeFailure(f"{where}: hooks: must be an object")
    for phase, entries in hooks.items():
        if phase not in PHASES:
            raise RuntimeFailure(f"{where}: hooks.{phase}: unknown hook phase (known: {', '.join(PHASES)})")
        if not isinstance(entries, list):
            raise RuntimeFailure(f"{where}: hooks.{phase}: must be an array")
        for i, h in enumerate(entries):
            key = f"hooks.{phase}[{i}]"
            if not isinstance(h, dict) or not isinstance(h.get("path"), str) or not h["path"].startswith("/"):
                raise RuntimeFailure(f"{where}: {key}.path: must be an absolute path")
            for list_key in ("args", "env"):
                v = h.get(list_key, [])
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise RuntimeFailure(f"{where}: {key}.{list_key}: must be an array of strings")
            t = h.get("timeout")
            if t is not None and (isinstance(t, bool) or not isinstance(t, int) or t < 1):
                raise RuntimeFailure(f"{where}: {key}.timeout: must be an integer of at least 1")


def run_all(hooks: Sequence[Mapping[str, Any]], state: bytes, phase: str) -> None:
    """Run the phase's hooks in order; the first failure raises :class:`HookFailed`."""
    for h in hooks:
        run_one(h, state, phase)


def run_all_warning(hooks: Sequence[Mapping[str, Any]], state: bytes, phase: str,
                    warn: Any) -> None:
    """poststart and poststop: a failure is a warning and the remaining hooks still run."""
    for h in hooks:
        try:
            run_one(h, state, phase)
        except HookFailed as exc:
            warn(str(exc))


def run_one(hook: Mapping[str, Any], state: bytes, phase: str) -> None:
    path = hook["path"]
    args = list(hook.get("args") or [path])
    env = dict(e.split("=", 1) if "=" in e else (e, "") for e in hook.get("env") or [])
    timeout = hook.get("timeout")
    what = f"{phase} hook {path}"
    in_r, in_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        try:
            pid = os.posix_spawn(path, args, env, file_actions=[
                (os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, err_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
        except OSError as exc:
            raise HookFailed(f"{what}: {exc.strerror}") from None
    finally:
        os.close(in_r)
        os.close(err_w)
    try:
        with contextlib.suppress(BrokenPipeError):
            os.write(in_w, state)  # a few hundred bytes: always fits the pipe
    finally:
        os.close(in_w)
    code, out = _wait(pid, err_r, timeout)
    if code is None:
        raise HookFailed(f"{what}: timed out after {timeout} s")
    if code != 0:
        last = out.decode("utf-8", "replace").strip().splitlines()
        raise HookFailed(f"{what}: exited with code {code}" + (f": {last[-1]}" if last else ""))


def _wait(pid: int, err_r: int, timeout: int | None) -> tuple[int | None, bytes]:
    """Wait for the hook while draining its output; None as the code when it ran out of time."""
    pidfd = os.pidfd_open(pid)
    deadline = time.monotonic() + timeout if timeout else None
    kept = b""
    try:
        open_fds = [pidfd, err_r]
        exited = False
        while not exited:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = select.select(open_fds, [], [], left)[0]
            if not ready:
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None, kept
            if err_r in ready:
                chunk = os.read(err_r, 65536)
                if chunk:
                    kept = (kept + chunk)[-STDERR_KEPT:]
                else:
                    open_fds.remove(err_r)
            exited = pidfd in ready
        with contextlib.suppress(BlockingIOError, OSError):
            os.set_blocking(err_r, False)
            while chunk := os.read(err_r, 65536):
                kept = (kept + chunk)[-STDERR_KEPT:]
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), kept
    finally:
        os.close(pidfd)
        os.close(err_r)
