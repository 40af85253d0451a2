"""The tmpfs volumes a container uses (``driver_opts: {type: tmpfs}``), taken and let go with it.

The tmpfs is mounted over the volume's directory for the first container that uses it and
unmounted after the last is removed (:func:`orchestrator.storage.volumes.use_tmpfs`). Which ones a
container took, with their options, is written beside its bundle (``tmpfs-volumes.json``): its
removal lets go of exactly those, whatever became of the stack file, and a start after the host
lost its mounts (a reboot) mounts them again before the container binds them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path

from orchestrator.paths import Paths

RECORD = "tmpfs-volumes.json"


def _recorded(cdir: Path) -> dict[str, list[str]]:
    try:
        data = json.loads((cdir / RECORD).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {str(k): [str(o) for o in v] for k, v in data.items()} if isinstance(data, dict) else {}


def take(paths: Paths, cdir: Path, container_id: str, name: str, options: Sequence[str]) -> Path:
    """Mount (if needed) and count the container in; recorded first, so a failure half-way is let go."""
    from orchestrator.storage import volumes

    taken = _recorded(cdir)
    taken[name] = list(options)
    tmp = cdir / f"{RECORD}.tmp"
    tmp.write_text(json.dumps(taken, sort_keys=True))
    tmp.replace(cdir / RECORD)
    return volumes.use_tmpfs(paths, name, options, container_id)


def retake(paths: Paths, cdir: Path, container_id: str) -> None:
    """Before a restart: the container's tmpfs volumes mounted again where the host lost them."""
    taken = _recorded(cdir)
    if not taken:  # every restart comes here (the supervisor's too): most containers have none
        return
    from orchestrator.storage import volumes

    for name, options in taken.items():
        volumes.use_tmpfs(paths, name, options, container_id)


def release(paths: Paths, cdir: Path, container_id: str) -> None:
    """The container is being removed: it no longer counts; the last one out unmounts."""
    from orchestrator.errors import PystackError
    from orchestrator.storage import volumes

    for name in _recorded(cdir):
        with contextlib.suppress(PystackError, OSError):  # a removal goes on: down -v still unmounts it
            volumes.leave_tmpfs(paths, name, container_id)
