"""What the runtime's lifecycle verbs do, apart from parsing their arguments.

Both ways in call these: the click commands of :mod:`orchestrator.cli.runtime_cmd` and the
click-free path of :mod:`orchestrator.cli.runtime_argv`, so the two cannot drift apart in what
a verb does, prints or exits with. Each returns the command's exit status.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.runtime.api import Runtime


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def create(rt: Runtime, container_id: str, bundle: str, pid_file: str | None, console_socket: str | None,
           log_path: str | None) -> int:
    rt.create(container_id, Path(bundle), pid_file=_path(pid_file), console_socket=_path(console_socket),
              log_path=_path(log_path))
    return 0


def start(rt: Runtime, container_id: str) -> int:
    rt.start(container_id)
    return 0


def state(rt: Runtime, container_id: str) -> int:
    print(json.dumps(rt.state(container_id).to_json(), indent=2))
    return 0


def kill(rt: Runtime, container_id: str, signal: str, all_: bool) -> int:
    rt.kill(container_id, signal, all=all_)
    return 0


def delete(rt: Runtime, container_id: str, force: bool) -> int:
    rt.delete(container_id, force=force)
    return 0


def run(rt: Runtime, container_id: str, bundle: str, pid_file: str | None, log_path: str | None,
        keep: bool) -> int:
    """Create, start and wait; the container's exit status is the command's."""
    if hasattr(rt, "use_zygote"):
        rt.use_zygote = False  # the container ends with this command: no zygote worth starting
    rt.create(container_id, Path(bundle), pid_file=_path(pid_file), log_path=_path(log_path))
    try:
        rt.start(container_id)
        st = rt.wait(container_id)
    except BaseException:
        rt.delete(container_id, force=True)
        raise
    if not keep:
        rt.delete(container_id, force=True)
    if st is not None and st.oom_killed:
        print(f"{container_id}: OOMKilled", file=sys.stderr)
    return st.code if st is not None else 1
