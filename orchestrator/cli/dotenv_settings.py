"""The ``COMPOSE_*`` settings of the command line read from the project's ``.env`` too, as Compose does.

Compose takes ``COMPOSE_REMOVE_ORPHANS``, ``COMPOSE_ANSI`` and their kin from the shell or, when the
shell leaves one unset, from the project's env file (``--env-file``, ``COMPOSE_ENV_FILES``, else the
``.env`` of the project directory). The file is only read through the real parser when it names
one of them, so that a command in a project whose ``.env`` does not pays nothing for it. The
project-level ones (``COMPOSE_PROJECT_NAME``, ``COMPOSE_FILE``, ``COMPOSE_PROFILES``…) are the
stack loader's business and are not handled here.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

SETTINGS = ("COMPOSE_REMOVE_ORPHANS", "COMPOSE_IGNORE_ORPHANS", "COMPOSE_ANSI", "COMPOSE_STATUS_STDOUT",
            "COMPOSE_PROGRESS", "COMPOSE_MENU", "COMPOSE_PARALLEL_LIMIT", "COMPOSE_COMPATIBILITY")


def env_files(files: list[str], project_directory: str | None, env_file_opts: list[str],
              environ: MutableMapping[str, str]) -> list[Path]:
    """The env files a load would read first, by the loader's rules (``spec.project.load_project``)."""
    cwd = Path.cwd()
    if env_file_opts:
        return [cwd / os.path.expanduser(p) for p in env_file_opts]
    first = next((f for f in files if f and f != "-"), None)
    start = Path(project_directory) if project_directory else (cwd / first).parent if first else cwd
    start = cwd / start
    if environ.get("COMPOSE_ENV_FILES"):
        return [start / p.strip() for p in environ["COMPOSE_ENV_FILES"].split(",") if p.strip()]
    if environ.get("COMPOSE_DISABLE_ENV_FILE", "").strip().lower() in ("1", "true", "yes", "y", "on"):
        return []
    return [start / ".env"]


def read(paths: list[Path]) -> list[tuple[Path, str]]:
    """The env files that exist, with their text: read once per command."""
    texts = []
    for path in paths:
        try:
            texts.append((path, path.read_text(errors="replace")))
        except OSError:
            continue
    return texts


def apply(texts: list[tuple[Path, str]], environ: MutableMapping[str, str]) -> list[str]:
    """Set in ``environ`` each setting the env files give and ``environ`` lacks; the names set."""
    if not any(key in text for _, text in texts for key in SETTINGS):
        return []
    from orchestrator.errors import PystackError
    from orchestrator.spec.dotenv import lookup_in, parse_dotenv

    found: dict[str, str] = {}
    for path, text in texts:
        try:
            found.update(parse_dotenv(text, filename=str(path), lookup=lookup_in(dict(environ), found)))
        except PystackError:
            continue  # the loader reports a broken env file, with its line, when it reads it
    named = [key for key in SETTINGS if key in found and key not in environ]
    for key in named:
        environ[key] = found[key]
    return named
