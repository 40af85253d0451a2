"""The image config of a committed container (``pystack commit``), from what it was made of.

As ``docker commit``: the new image is the container's image plus one layer (what the container
changed, its overlay upper directory), and its config is the container's rather than the image's
alone: the environment the container runs with, its working directory, and the entrypoint,
command, user and labels the service set, so that the image runs as the container did. Then the
``--change`` Dockerfile instructions apply (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER,
VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK, SHELL), then the author and the history entry.
Side-effect free: the command writes the layer and the image.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import ImageError
from orchestrator.images import manifest as mf
from orchestrator.images.build.instructions import DEFAULT_SHELL, StageVars, apply_config, env_from_config
from orchestrator.images.build.parser import Instruction, parse

CHANGES = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR",
           "STOPSIGNAL", "HEALTHCHECK", "SHELL")


@dataclass(frozen=True)
class ContainerConfig:
    """What the container ran with, beyond its image: the environment and directory its process
    got, and the service's own entrypoint, command, user and labels (None or empty: the image's)."""

    env: Mapping[str, str]
    working_dir: str | None = None
    entrypoint: Sequence[str] | None = None
    command: Sequence[str] | None = None
    user: str | None = None
    labels: Mapping[str, str] | None = None


def parse_changes(changes: Sequence[str]) -> list[Instruction]:
    """Each ``--change`` as one instruction; an error names the change that is not one of ours."""
    out: list[Instruction] = []
    for i, text in enumerate(changes, 1):
        if "\n" in text:
            raise ImageError(f"--change {text!r}: one instruction per --change")
        word = text.strip().split(None, 1)[0].upper() if text.strip() else ""
        if word not in CHANGES:
            raise ImageError(f"--change {text!r}: {word or 'an empty change'} cannot be changed by commit "
                             f"(it takes {', '.join(CHANGES)})")
        try:
            [ins] = parse(f"FROM scratch\n{text}", where=f"--change {i}").stages[0].instructions
        except ValueError:
            raise ImageError(f"--change {text!r}: not one instruction") from None
        out.append(ins)
    return out


def committed_config(base: Mapping[str, Any], container: ContainerConfig, changes: Sequence[Instruction], *,
                     diff_ids: Sequence[str], layer_added: bool, created: str, author: str | None,
                     message: str | None, created_by: str) -> dict[str, Any]:
    """The full OCI image config of the committed image (``diff_ids``: all its layers, base first)."""
    config: dict[str, Any] = copy.deepcopy(dict(base))
    for stale in ("container", "container_config", "docker_version", "parent", "id"):
        config.pop(stale, None)
    inner: dict[str, Any] = dict(config.get("config") or {})
    inner["Env"] = [f"{k}={v}" for k, v in container.env.items()]
    if container.working_dir:
        inner["WorkingDir"] = container.working_dir
    if container.entrypoint is not None:  # as a container gets them: a service's entrypoint drops the image's command
        inner["Entrypoint"] = list(container.entrypoint) or None
        inner["Cmd"] = list(container.command) if container.command else None
    elif container.command is not None:
        inner["Cmd"] = list(container.command) or None
    if container.user:
        inner["User"] = container.user
    if container.labels:
        inner["Labels"] = {**(inner.get("Labels") or {}), **container.labels}
    state = StageVars(env=env_from_config(inner), shell=list(inner.get("Shell") or DEFAULT_SHELL), entrypoint_set=True)
    for ins in changes:
        if ins.cmd == "WORKDIR":  # a build's WORKDIR makes the directory too; a commit's only sets it
            path = ins.rest.strip()
            if not path:
                raise ImageError("--change WORKDIR needs a path")
            inner["WorkingDir"] = path if path.startswith("/") else f"{inner.get('WorkingDir') or '/'}/{path}"
        else:
            apply_config(ins, inner, state, "\\", config)
    config["config"] = inner
    if author:
        config["author"] = author
    history = list(config.get("history") or [])
    entry: dict[str, Any] = {"created": created, "created_by": created_by}
    if author:
        entry["author"] = author
    if message:
        entry["comment"] = message
    if not layer_added:
        entry["empty_layer"] = True
    history.append(entry)
    config["history"] = history
    return mf.complete_config(config, list(diff_ids), created=created)
