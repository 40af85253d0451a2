"""The process of an ``exec`` into a service's container, as ``docker exec`` builds it.

Shared by the ``exec`` command and the services' lifecycle hooks (:mod:`service_hooks`), which
Compose runs as execs with the same options: what is left out is the container's own (its
environment, working directory and user, from its OCI config, through the runtime), ``env`` adds
to the environment, ``workdir`` replaces the directory, ``user`` is looked up in the container's
root, and ``privileged`` grants every capability the host can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.reconcile.context import Context
    from orchestrator.state.containers import ContainerRecord


def exec_process(ctx: Context, rec: ContainerRecord, args: Sequence[str], *,
                 env: Mapping[str, str | None] | None = None, workdir: str | None = None,
                 user: str | None = None, privileged: bool = False) -> dict[str, Any]:
    process: dict[str, Any] = {"args": list(args)}
    if env:
        from orchestrator.runtime.spec import load_config

        container_env = (load_config(ctx.paths.container(rec.id)).get("process") or {}).get("env") or []
        by_name = {e.partition("=")[0]: e for e in container_env}
        for k, v in env.items():
            if v is None:  # KEY without a value and none in the project: unset, as Compose does
                by_name.pop(k, None)
            else:
                by_name[k] = f"{k}={v}"
        process["env"] = list(by_name.values())
    if workdir:
        process["cwd"] = workdir
    if user:
        from orchestrator.runtime.config_builder import resolve_groups, resolve_user

        merged = ctx.paths.container(rec.id) / "merged"
        uid, gid, extra, _ = resolve_user(merged, user)
        # the service's group_add holds for every process of the container, as with docker exec -u
        added = resolve_groups(merged, list((rec.spec.get("service") or {}).get("group_add") or []))
        process["user"] = {"uid": uid, "gid": gid, "additionalGids": sorted(set(extra + added))}
    if privileged:  # as docker exec --privileged: the capabilities only; seccomp stays the container's
        from orchestrator.runtime.caps import grantable

        granted = grantable()
        process["capabilities"] = {k: granted for k in ("bounding", "effective", "permitted")}
    return process
