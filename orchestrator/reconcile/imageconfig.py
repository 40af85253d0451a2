"""Service + image config → the runtime's ``ContainerOptions``, by Docker's rules.

Docker's precedence: a service ``entrypoint`` replaces the image's and clears the image ``Cmd``;
a service ``command`` replaces the image ``Cmd``; environment is the image's ``Env`` overlaid
with the service's; the working directory, user and stop signal fall back to the image's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import PystackError
from orchestrator.reconcile.desired import ServicePlan
from orchestrator.state.containers import ContainerRecord

if TYPE_CHECKING:
    from orchestrator.runtime.config_builder import ContainerOptions

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SIZE_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3, "b": 1}


def process_args(sp: ServicePlan, image_config: dict[str, Any], overrides: dict[str, Any]) -> list[str]:
    cfg = image_config.get("config") or {}
    entrypoint = overrides.get("entrypoint", sp.entrypoint)
    command = overrides.get("command", sp.command)
    if entrypoint is not None:
        args = list(entrypoint) + list(command or [])
    else:
        args = list(cfg.get("Entrypoint") or []) + list(command if command is not None else (cfg.get("Cmd") or []))
    if not args:
        raise PystackError(f"service {sp.service!r}: no command given and the image {sp.image!r} has none")
    return args


def environment(sp: ServicePlan, image_config: dict[str, Any], extra: dict[str, str] | None = None) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in (image_config.get("config") or {}).get("Env") or []:
        k, _, v = str(item).partition("=")
        env[k] = v
    env.update(sp.environment)
    env.update(extra or {})
    env.setdefault("PATH", DEFAULT_PATH)
    return env


def parse_log_options(options: dict[str, Any]) -> tuple[int | None, int]:
    size = options.get("max-size")
    files = int(options.get("max-file") or 1)
    if size is None:
        return None, files
    s = str(size).strip().lower()
    unit = s[-1] if s and s[-1] in _SIZE_UNITS else "b"
    number = s[:-1] if s and s[-1] in _SIZE_UNITS else s
    return int(float(number) * _SIZE_UNITS[unit]), max(files, 1)


def log_limits(sp: ServicePlan) -> tuple[int | None, int]:
    logging = sp.spec.get("logging") or {}
    return parse_log_options(logging.get("options") or {})


def container_options(
    sp: ServicePlan, image_config: dict[str, Any], rec: ContainerRecord, *, rootfs: Path,
    netns: str | None, mounts: list[dict[str, Any]], overrides: dict[str, Any],
) -> ContainerOptions:
    from orchestrator.runtime.config_builder import ContainerOptions

    cfg = image_config.get("config") or {}
    env = environment(sp, image_config, overrides.get("environment"))
    hostname = sp.hostname or (rec.id if sp.network_mode != "host" else None)
    return ContainerOptions(
        args=process_args(sp, image_config, overrides),
        env=env,
        cwd=overrides.get("working_dir") or sp.working_dir or cfg.get("WorkingDir") or "/",
        user=overrides.get("user") or sp.user or cfg.get("User") or None,
        hostname=hostname,
        domainname=sp.domainname,
        terminal=bool(overrides.get("tty", sp.tty)),
        rootfs=rootfs,
        readonly_rootfs=sp.read_only,
        mounts=mounts,
        netns=netns,
        cap_add=list(sp.cap_add),
        cap_drop=list(sp.cap_drop),
        privileged=sp.privileged,
        no_new_privileges=sp.no_new_privileges,
        sysctls=dict(sp.sysctls),
        rlimits=dict(sp.rlimits),
        resources=dict(sp.resources),
        cgroups_path=f"pystack/{rec.id}",
        shm_size=sp.shm_size,
        init=sp.init,
        oom_score_adj=sp.oom_score_adj,
        seccomp=sp.seccomp,
        annotations={
            "io.pystack.project": sp.project,
            "io.pystack.service": sp.service,
            "io.pystack.container-name": rec.name,
        },
    )
