"""Host paths in a stack file: ``~`` expanded, relative ones made absolute against a base directory."""

from __future__ import annotations

import os
import re

_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/)", re.IGNORECASE)


def resolve_path(path: str, base: str, home: str | None) -> str:
    if path == "~" or path.startswith("~/"):
        path = (home or os.path.expanduser("~")) + path[1:]
    if not os.path.isabs(path):
        path = os.path.join(base, path)
    return os.path.normpath(path)


def is_remote(context: str) -> bool:
    """A build context Compose passes through untouched (git URL, http tarball)."""
    return bool(_URL.match(context))
