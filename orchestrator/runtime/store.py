"""The per-container state directory: what any process (not only the creator) needs to find a container.

``<runtime_state>/<id>/``: ``state.json`` (pids with their start times, bundle, cgroup path),
``exec.fifo`` (present while created but not started), ``exit.json`` (written by the monitor
when PID 1 is gone). Pids are always checked against their start time, so a recycled pid is
never mistaken for the container.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

from orchestrator.errors import RuntimeFailure

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_id(container_id: str) -> None:
    if not _ID.match(container_id):
        raise RuntimeFailure(f"invalid container id {container_id!r} (letters, digits, _ . -; at most 128)")


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot); None when the pid does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return int(raw[raw.rindex(b")") + 2 :].split()[19])


def alive(pid: int | None, started: int | None) -> bool:
    if not pid:
        return False
    st = start_time(pid)
    if st is None or (started is not None and st != started):
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
        return raw[raw.rindex(b")") + 2 :][:1] not in (b"Z", b"X")
    except OSError:
        return False


def write_owner_note(note: Path) -> None:
    """Name this process (pid and start time) in ``note`` while it does something that a kill
    of it would leave half done; :func:`owner_gone` tells a later process whether that happened."""
    me = os.getpid()
    note.write_text(f"{me} {start_time(me) or 0}\n")


def owner_gone(note: Path) -> bool:
    """True unless ``note`` names a process that still runs (a missing or torn note: gone)."""
    try:
        pid, started = (int(x) for x in note.read_text().split())
    except (OSError, ValueError):
        return True
    return not alive(pid, started or None)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())  # type: ignore[no-any-return]
    except FileNotFoundError:
        return None
    except ValueError:
        return None


class ContainerDir:
    """A container's directory under the runtime's state directory.

    Its path is built on first use: the zygote makes one per monitor request, and building a
    ``Path`` there (pathlib splits the string and interns each new part, such as the container id)
    wrote to pages that every monitor forked earlier still shared with it: about 110 KiB more in
    each, measured. A monitor itself only needs the path at its end.
    """

    def __init__(self, base: Path | str, container_id: str) -> None:
        check_id(container_id)
        self.id = container_id
        self._base = base

    @functools.cached_property
    def dir(self) -> Path:
        return Path(self._base) / self.id

    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    @property
    def exit_file(self) -> Path:
        return self.dir / "exit.json"

    @property
    def fifo(self) -> Path:
        return self.dir / "exec.fifo"

    @property
    def create_file(self) -> Path:
        """Who is creating the container and its cgroup's path, until ``state.json`` is written:
        what a ``delete`` needs to undo a create whose caller was killed (see PystackRuntime.delete)."""
        return self.dir / "create.json"

    @property
    def start_result(self) -> Path:
        """FIFO over which the init reports a failed startContainer hook (only when there are any)."""
        return self.dir / "start.result"

    def load(self) -> dict[str, Any]:
        data = read_json(self.state_file)
        if data is None:
            raise RuntimeFailure(f"container {self.id} does not exist", exit_code=1)
        return data
