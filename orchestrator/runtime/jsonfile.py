"""The runtime's JSON state files (``state.json``, ``exit.json``, ``create.json``), written atomically.

Whole under a temporary name, then renamed over the old one, so that a reader never sees half a
file. Its own module with nothing but ``os`` and ``json`` so that the lean monitor
(:mod:`orchestrator.runtime.lean_monitor`), which writes ``exit.json``, loads nothing more for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping


def write_json(path: str | os.PathLike[str], data: Mapping[str, object]) -> None:
    target = os.fspath(path)
    tmp = target + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, json.dumps(data).encode())
    finally:
        os.close(fd)
    os.replace(tmp, target)
