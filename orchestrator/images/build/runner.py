"""RUN steps in a container of pystack's own runtime: an OCI bundle over the step's overlay.

The container id is ``bld-<random>`` and its cgroup ``pystack/bld-<id>``; it shares the host's
network (``--network=host``, the default, as builds need no bridge) or gets an empty network
namespace (``none``). The runtime creates mount points (``/proc``, ``/dev``, ``/sys``) in the
merged root when the image lacks them; those empty stubs are removed from the upper directory
afterwards, so a RUN layer holds only what the command changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from orchestrator.errors import ImageError, PystackError
from orchestrator.images.build.builder import StepLimits
from orchestrator.images.build.run_mounts import drop_mount_points, existing_depth
from orchestrator.paths import Paths
from orchestrator.storage.rootfs import mount_rootfs, unmount_rootfs

_STUBS = ("proc", "sys", "dev", "etc/resolv.conf", "etc/hosts", "etc/hostname", "sbin/docker-init")


class RuntimeBuildRunner:
    def __init__(self, paths: Paths, *, runtime: str | None = None,
                 output: Callable[[str], None] | None = None, timeout: float | None = None) -> None:
        self.paths = paths
        self.runtime_name = runtime
        self.output = output
        self.timeout = timeout

    def run(self, lower_dirs: list[Path], upper: Path, work_root: Path, args: list[str], env: dict[str, str],
            cwd: str, user: str | None, network: Literal["host", "none"],
            mounts: Sequence[dict[str, Any]] = (), limits: StepLimits | None = None) -> int:
        """``mounts``: OCI mounts of the step's ``RUN --mount``; a mount point the root lacked is made
        for the step and taken out of the layer again. ``limits``: the build's ``shm_size`` and
        ``ulimits``, and its ``extra_hosts`` in an /etc/hosts of the step's own (only then: else the
        image's file is what the step reads, as before)."""
        from orchestrator.runtime.api import get_runtime
        from orchestrator.runtime.config_builder import ContainerOptions, build_config, write_bundle

        limits = limits or StepLimits()
        all_mounts = list(mounts)
        if limits.extra_hosts:
            all_mounts.append(self._hosts_file(work_root, limits, network))
        cdir = upper.parent
        merged = mount_rootfs(lower_dirs, cdir)
        present = {s for s in _STUBS if os.path.lexists(merged / s)}
        depths = [(m["destination"], existing_depth(merged, m["destination"])) for m in mounts]
        try:
            cid = "bld-" + secrets.token_hex(6)
            opts = ContainerOptions(
                args=args, rootfs=merged, env=env, cwd=cwd or "/", user=user, hostname="pystack-build",
                netns="host" if network == "host" else None, cgroups_path=f"pystack/{cid}",
                no_new_privileges=False, mounts=all_mounts, shm_size=limits.shm_size,
                rlimits=dict(limits.ulimits),
            )
            try:
                cfg = build_config(opts)
            except PystackError as exc:
                raise ImageError(f"cannot run the step: {exc}") from None
            bundle = work_root / "bundle"
            write_bundle(bundle, cfg)
            log = work_root / "run.log"
            rt = get_runtime(self.runtime_name, self.paths)
            rt.create(cid, bundle, log_path=log)
            try:
                rt.start(cid)
                status = rt.wait(cid, self.timeout)
                if status is None:
                    rt.kill(cid, "SIGKILL", all=True)
                    raise ImageError(f"the step ran longer than {self.timeout} s and was killed")
            finally:
                rt.delete(cid, force=True)
            self._relay(log)
        finally:
            unmount_rootfs(cdir)
            self._drop_stubs(upper, present)
            for target, depth in depths:
                drop_mount_points(upper, target, depth)
        if status.signal:
            return 128 + int(status.signal)
        return status.code

    @staticmethod
    def _hosts_file(work_root: Path, limits: StepLimits, network: Literal["host", "none"]) -> dict[str, Any]:
        """The step's /etc/hosts: localhost, its hostname and ``extra_hosts`` (``host-gateway`` is the
        host itself, which a step on the host's network reaches at 127.0.0.1)."""
        from orchestrator.errors import NetworkFailure
        from orchestrator.network.hostfiles import write_hosts

        path = work_root / "hosts"
        work_root.mkdir(parents=True, exist_ok=True)
        try:
            write_hosts(path, "pystack-build", None, list(limits.extra_hosts),
                        gateway="127.0.0.1" if network == "host" else None)
        except NetworkFailure as exc:
            raise ImageError(f"build.extra_hosts: {exc}") from None
        return {"destination": "/etc/hosts", "type": "bind", "source": str(path), "options": ["rbind", "ro"]}

    def _relay(self, log: Path) -> None:
        if self.output is None or not log.exists():
            return
        with open(log, encoding="utf-8", errors="replace") as f:
            for line in f:
                with contextlib.suppress(ValueError, KeyError):
                    self.output(json.loads(line)["log"].rstrip("\n"))

    def _drop_stubs(self, upper: Path, present: set[str]) -> None:
        for stub in _STUBS:
            if stub in present:
                continue
            p = upper / stub
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode) and not os.listdir(p):
                os.rmdir(p)
            elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
                os.unlink(p)
        for parent in ("etc", "sbin"):
            p = upper / parent
            with contextlib.suppress(OSError):
                if p.is_dir() and not p.is_symlink() and not os.listdir(p) and not _opaque(p):
                    p.rmdir()


def _opaque(p: Path) -> bool:
    try:
        return os.getxattr(p, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


__all__ = ["RuntimeBuildRunner"]
