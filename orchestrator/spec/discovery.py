"""Where a stack file would be found, without loading anything: the default names and the walk up.

The loader (:mod:`orchestrator.spec.project`) uses these names; commands given only ``-p NAME``
ask :func:`could_find_stack_file` first, so that ``pystack -p shop down`` from a directory without
a stack file does not import the whole loader (pydantic and all, ~0.25 s) only to be told so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

# Compose's names, in its order of preference; the override is the first of its own list found
# beside the chosen file, whichever name that file has (compose-go's DefaultOverrideFileNames).
DEFAULT_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILE_NAMES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                       "docker-compose.override.yaml")


def default_file_dir(start: Path) -> Path | None:
    """``start`` or the nearest parent holding a default stack file; None when none does."""
    directory = start
    while True:
        if any((directory / n).is_file() for n in DEFAULT_FILE_NAMES):
            return directory
        if directory.parent == directory:
            return None
        directory = directory.parent


def could_find_stack_file(project_directory: str | None, env_files: Sequence[str],
                          environ: Mapping[str, str] | None = None) -> bool:
    """False only when a load without ``-f`` is sure to find no stack file.

    Anything that could name one (``COMPOSE_FILE`` or ``COMPOSE_ENV_FILES`` in the environment,
    an ``--env-file``, a ``.env`` in the start directory, which may set ``COMPOSE_FILE``) counts
    as "could": the full load then decides, as before.
    """
    env = os.environ if environ is None else environ
    if env_files or env.get("COMPOSE_FILE") or env.get("COMPOSE_ENV_FILES"):
        return True
    start = Path(os.path.abspath(project_directory or "."))
    if (start / ".env").exists():
        return True
    return default_file_dir(start) is not None
