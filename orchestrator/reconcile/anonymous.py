"""Anonymous volumes: ``volumes: [/data]`` in the stack file and the image's ``VOLUME`` paths.

Compose gives each such path a volume of its own that outlives the container's root: a
container recreated because its configuration changed keeps the data of its predecessor (unless
``up -V``), ``rm -v``, ``down -v`` and ``run --rm`` delete it, and any other removal leaves it
behind, detached. Here a service container's anonymous volume is named for its replica and path
(:func:`name_for`), so the replacement finds it without any record of the old container; leaving
it behind is a rename (``volumes.release_volume``). A one-off container's are random and its own.
What a container uses is written beside its bundle (``anonymous-volumes.json``), so that its
removal knows what to delete or release whatever happened to the image or the stack file since.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from orchestrator import sha256
from orchestrator.paths import Paths
from orchestrator.reconcile.desired import MountPlan
from orchestrator.state.containers import ContainerRecord

RECORD = "anonymous-volumes.json"
PROJECT_LABEL = "com.docker.compose.project"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"  # what Docker marks its anonymous volumes with

Disposal = Literal["keep", "release", "delete"]


def targets(mounts: Iterable[MountPlan], image_volumes: Iterable[str]) -> list[str]:
    """The paths that get an anonymous volume, in mount order: the service's own, then each image
    ``VOLUME`` the service mounts nothing at (a bind, named volume or tmpfs there replaces it)."""
    mounts = list(mounts)
    own = [m.target for m in mounts if m.type == "volume" and m.source is None]
    taken = {_norm(m.target) for m in mounts}
    extra = sorted({_norm(t) for t in image_volumes} - taken)
    return own + [t for t in extra if t != "/"]


def name_for(rec: ContainerRecord, target: str) -> str:
    """The volume of ``target`` for this container: fixed per replica for a service container
    (its replacement inherits it), random for a one-off one."""
    if rec.one_off:
        return os.urandom(32).hex()
    return sha256.hexdigest(f"{rec.project}\0{rec.service}\0{rec.number}\0{_norm(target)}".encode())


def assign(paths: Paths, cdir: Path, rec: ContainerRecord, wanted: list[str], *,
           renew: bool = False) -> dict[str, str]:
    """Name the container's anonymous volumes and record them before any exists, so that a create
    interrupted midway leaves nothing its removal does not know of. ``renew`` (``up -V``) moves a
    predecessor's volumes out of the way first, so that these start empty."""
    from orchestrator.storage import volumes

    names = {t: name_for(rec, t) for t in wanted}
    if not names:
        return names  # nothing to record: recorded() reads a missing file as none
    if renew and not rec.one_off:
        for name in names.values():
            volumes.release_volume(paths, name)
    tmp = cdir / f"{RECORD}.tmp"
    tmp.write_text(json.dumps(names, sort_keys=True))
    os.replace(tmp, cdir / RECORD)
    return names


def labels(rec: ContainerRecord) -> dict[str, str]:
    return {PROJECT_LABEL: rec.project, ANONYMOUS_LABEL: ""}


def recorded(cdir: Path) -> dict[str, str]:
    """What :func:`assign` wrote; empty for a container made before anonymous volumes were recorded."""
    with contextlib.suppress(OSError, ValueError):
        data: Any = json.loads((cdir / RECORD).read_text())
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
    return {}


def dispose(paths: Paths, cdir: Path, rec: ContainerRecord, how: Disposal) -> None:
    """What becomes of a removed container's anonymous volumes: kept where its replacement will
    find them, released (detached, data kept) or deleted."""
    from orchestrator.storage import volumes

    if how == "keep":
        return
    for name in recorded(cdir).values():
        if how == "delete":
            volumes.remove_volume(paths, name)
        elif not rec.one_off:  # a one-off container's volumes are random: nothing will adopt them
            volumes.release_volume(paths, name)


def of_project(paths: Paths, project: str) -> list[str]:
    """Every anonymous volume of the stack, attached or left behind: what ``down -v`` deletes."""
    from orchestrator.storage import volumes

    found = []
    for name in volumes.list_volumes(paths):
        got = volumes.volume_labels(paths, name)
        if ANONYMOUS_LABEL in got and got.get(PROJECT_LABEL) == project:
            found.append(name)
    return found


def image_volume_paths(config: Mapping[str, Any]) -> list[str]:
    vols = config.get("Volumes") or {}
    return [str(v) for v in vols] if isinstance(vols, Mapping) else []


def _norm(target: str) -> str:
    return posixpath.normpath("/" + target.strip().lstrip("/"))
