"""A stopped container's root for ``cp``, with the mounts it has when it runs.

A running container's root is read through its PID 1 (:func:`orchestrator.cli.copying.live_root`),
which crosses its volumes and binds. A stopped one has no mount namespace left, and the overlay's
merged directory shows only empty mount points where its volumes go. Docker mounts a stopped
container's volumes for the copy; so does this: a child process, in a mount namespace of its own,
binds the container's bind mounts from its ``config.json`` (volumes, bind mounts, ``/etc/hosts``
and the like, secrets, configs) over the merged root as the runtime does at start, read-only where
the container has them read-only (its root too, with ``read_only: true``), runs the copy and exits.
The mounts die with its namespace: none is ever made on the host's side, nor left after a failure.
tmpfs mounts are not recreated: what they held went with the container's processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from orchestrator.errors import PystackError

_MAX_ERROR = 4096


def run_with_mounts(bundle: Path, copy: Callable[[Path], None]) -> None:
    """``copy(root)`` in a child whose root has the stopped container's binds; its one-line error
    (a :class:`PystackError`) comes back here as one."""
    try:
        cfg = json.loads((bundle / "config.json").read_text())
    except (OSError, ValueError):  # no runtime config to read mounts from: the root as it is
        copy(bundle / "merged")
        return
    r, w = os.pipe2(os.O_CLOEXEC)
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()  # nothing buffered here is written twice, by both processes
    pid = os.fork()
    if pid == 0:  # the child: its mounts end with it
        code = 1
        try:
            os.close(r)
            try:
                copy(_mounted_root(cfg, bundle))
                code = 0
            except OSError as exc:
                os.write(w, f"\0{exc.strerror or exc}".encode()[:_MAX_ERROR])
            except Exception as exc:  # a PystackError above all: one line, never a traceback
                os.write(w, (str(exc) or type(exc).__name__).encode()[:_MAX_ERROR])
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.flush()
        finally:
            os._exit(code)
    os.close(w)
    try:
        chunks = []
        while chunk := os.read(r, _MAX_ERROR):
            chunks.append(chunk)
    finally:
        os.close(r)
    _, status = os.waitpid(pid, 0)
    message = b"".join(chunks).decode(errors="replace")
    if message.startswith("\0"):  # an OSError: the caller words it as it words its own
        raise OSError(0, message[1:])
    if message:
        raise PystackError(message)
    if os.waitstatus_to_exitcode(status) != 0:
        raise PystackError("cp: the copy ended without a result")


def _mounted_root(cfg: dict[str, object], bundle: Path) -> Path:
    """In the child: a private mount namespace, the root bound onto itself, the container's binds on
    it, and the root made read-only last (so that missing mount points could still be made)."""
    from orchestrator.runtime import kernel as k
    from orchestrator.runtime import mountopts
    from orchestrator.runtime.inroot import O_PATH
    from orchestrator.runtime.rootfs import MountError, mount_entry, rootfs_path

    k.unshare(k.CLONE_NEWNS)
    k.mount(None, "/", None, k.MS_REC | k.MS_PRIVATE)  # nothing below reaches the host's namespace
    root = str(rootfs_path(cfg, bundle))
    k.mount(root, root, None, k.MS_BIND | k.MS_REC)
    root_fd = os.open(root, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        mounts = cfg.get("mounts")
        for m in mounts if isinstance(mounts, list) else []:
            if isinstance(m, dict) and mountopts.parse(m.get("options"), m.get("type")).bind:
                try:
                    mount_entry(root_fd, m, bundle)
                except MountError as exc:
                    raise PystackError(f"cp: the stopped container's {exc}") from None
    finally:
        os.close(root_fd)
    spec_root = cfg.get("root")
    if isinstance(spec_root, dict) and spec_root.get("readonly"):
        k.mount(None, root, None, k.MS_BIND | k.MS_REMOUNT | k.MS_RDONLY)
    return Path(root)
