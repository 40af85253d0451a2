"""The entry point of loading: which files, which directory, which variables, which name.

Follows Compose: the project directory is ``--project-directory``, else the first file's
directory, else the current one. Variables for interpolation are the shell environment over the
``--env-file`` files (which replace the default ``<project dir>/.env``; later files win); when the
files turn out to live in another directory than the one whose ``.env`` was read first, that
directory's ``.env`` is read as well, with lower precedence. Files are
``-f``, else ``COMPOSE_FILE`` (split on ``COMPOSE_PATH_SEPARATOR`` or ``os.pathsep``), else the first
of ``compose.yaml``, ``compose.yml``, ``docker-compose.yml``, ``docker-compose.yaml`` found in the
directory or its parents, plus the first of Compose's override names found beside it
(``compose.override.yml``, ``compose.override.yaml``, ``docker-compose.override.yml``,
``docker-compose.override.yaml``), whatever the name of the first. The name is ``-p``, else
``COMPOSE_PROJECT_NAME``, else the top-level ``name:``, else the directory's base name normalized.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import SpecError
from orchestrator.spec.cache import probe_is_file
from orchestrator.spec.context import LoadContext, display_name
from orchestrator.spec.discovery import DEFAULT_FILE_NAMES, OVERRIDE_FILE_NAMES
from orchestrator.spec.dotenv import lookup_in, read_env_file
from orchestrator.spec.extends import apply_extends, empty_definition
from orchestrator.spec.include import apply_includes
from orchestrator.spec.merge import merge_files
from orchestrator.spec.source import MDict, Position, PositionMap, flatten

_VALID_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_DROP_NAME_CHARS = re.compile(r"[^a-z0-9_-]+")


@dataclass
class LoadOptions:
    """The inputs of a load besides the files' contents; the load cache keys its entries on the same inputs."""
    files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str | None = None
    profiles: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    environ: Mapping[str, str] | None = None
    interpolate: bool = True


@dataclass
class LoadedProject:
    """A project merged from its files and interpolated, with each key's position for error messages."""
    name: str
    data: dict[str, Any]
    positions: PositionMap
    environment: dict[str, str]
    working_dir: Path
    config_files: list[Path]
    profiles: list[str]
    warnings: list[str]
    service_environments: dict[str, dict[str, str]] = field(default_factory=dict)


def normalize_project_name(name: str) -> str:
    """Compose's rule for names derived from a directory: lowercase, keep [a-z0-9_-], no leading _/-."""
    return _DROP_NAME_CHARS.sub("", name.lower()).lstrip("_-")


def check_project_name(name: str, source: str) -> str:
    if not _VALID_NAME.match(name):
        raise SpecError(
            f'invalid project name "{name}" ({source}): it must contain only lowercase letters, digits, '
            "dashes and underscores, and start with a letter or digit"
        )
    return name


def _abs(path: str | Path, base: Path) -> Path:
    return Path(os.path.normpath(os.path.join(base, os.path.expanduser(str(path)))))


def load_environment(environ: Mapping[str, str], env_files: list[Path], default_dotenv: Path | None) -> dict[str, str]:
    """The variables for interpolation: the shell over the env files (later files over earlier)."""
    shell = dict(environ)
    loaded: dict[str, str] = {}
    files = [(p, True) for p in env_files]
    if not files and default_dotenv is not None and not _truthy(shell.get("COMPOSE_DISABLE_ENV_FILE")):
        files = [(default_dotenv, False)]
    for path, required in files:
        if not required and not probe_is_file(path):
            continue
        loaded.update(
            read_env_file(path, required=required, lookup=lookup_in(shell, loaded), display=display_name(path))
        )
    return {**loaded, **shell}


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "y", "on")


def discover_files(start: Path) -> list[Path]:
    """The default stack file (and its override) in ``start`` or the nearest parent that has one."""
    directory = start
    while True:
        found = [directory / n for n in DEFAULT_FILE_NAMES if probe_is_file(directory / n)]
        if found:
            overrides = [directory / n for n in OVERRIDE_FILE_NAMES if probe_is_file(directory / n)]
            return [found[0], *overrides[:1]]
        if directory.parent == directory:
            break
        directory = directory.parent
    names = ", ".join(DEFAULT_FILE_NAMES)
    raise SpecError(f"no stack file found in {start} or its parents (looked for {names}); use -f")


def _multiple_default_warnings(files: list[Path]) -> list[str]:
    directory = files[0].parent
    out = []
    for names, what in ((DEFAULT_FILE_NAMES, "stack files"), (OVERRIDE_FILE_NAMES, "override files")):
        present = [n for n in names if probe_is_file(directory / n)]
        if len(present) > 1:
            out.append(f"found several {what} ({', '.join(present)}) in {directory}: using {present[0]}")
    return out


def load_project(opts: LoadOptions) -> LoadedProject:
    """Load, merge, interpolate and resolve extends/include for a project; raise SpecError on bad input."""
    environ = dict(os.environ if opts.environ is None else opts.environ)
    cwd = Path.cwd()
    explicit_dir = _abs(opts.project_directory, cwd) if opts.project_directory else None
    files_given = [f for f in opts.files if f]
    stdin = "-" in files_given
    first_dir = None if not files_given or files_given[0] == "-" else _abs(files_given[0], cwd).parent
    start_dir = explicit_dir or first_dir or cwd
    env_files = [_abs(p, cwd) for p in opts.env_files]
    if not env_files and environ.get("COMPOSE_ENV_FILES"):
        env_files = [_abs(p, start_dir) for p in environ["COMPOSE_ENV_FILES"].split(",") if p.strip()]
    environment = load_environment(environ, env_files, start_dir / ".env")

    warnings: list[str] = []
    config_files: list[Path]
    if files_given:
        config_files = [Path("-") if f == "-" else _abs(f, cwd) for f in files_given]
    elif environment.get("COMPOSE_FILE"):
        sep = environment.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        config_files = [_abs(f, cwd) for f in environment["COMPOSE_FILE"].split(sep) if f]  # as Compose: cwd
    else:
        config_files = discover_files(start_dir)
        warnings.extend(_multiple_default_warnings(config_files))
    working_dir = explicit_dir or (cwd if config_files[0] == Path("-") else config_files[0].parent)
    if working_dir != start_dir and not env_files:
        # the stack lives elsewhere (COMPOSE_FILE, discovery in a parent): its own .env is read too,
        # below the one of the current directory (shell > local .env > project .env, as Compose)
        environment = load_environment(environment, [], working_dir / ".env")

    ctx = LoadContext(environment=environment, interpolate=opts.interpolate, warnings=warnings)
    try:
        merged = _load_files(ctx, config_files, working_dir, stdin)
    except RecursionError:
        raise SpecError("stack files nest too deeply (include / extends chains)") from None
    _empty_definitions(merged)

    name = _project_name(opts, environment, merged, working_dir)
    merged.put("name", name, merged.vpos.get("name"), merged.kpos.get("name"))
    profiles = _profiles(opts.profiles, environment)
    positions = PositionMap()
    data = flatten(merged, positions)
    if merged.pos is None and config_files:
        positions.set((), Position(display_name(config_files[0]), 1, 1))
    return LoadedProject(
        name=name,
        data=data,
        positions=positions,
        environment=environment,
        working_dir=working_dir,
        config_files=config_files,
        profiles=profiles,
        warnings=ctx.warnings,
        service_environments=ctx.service_environments,
    )


def _load_files(ctx: LoadContext, config_files: list[Path], working_dir: Path, stdin: bool) -> MDict:
    merged = MDict(None)
    for path in config_files:
        if stdin and path == Path("-"):
            tree = ctx.read_text(sys.stdin.buffer.read(), "-")
            key = str(working_dir / "-")
        else:
            tree = ctx.read_file(path, fresh=True)
            key = str(path)
        tree = apply_includes(tree, ctx, working_dir, key)
        apply_extends(tree, ctx, key, working_dir)
        merged = merge_files(merged, tree)  # also drops the merge tags
    return merged


def _empty_definitions(merged: MDict) -> None:
    """``services: {web: }`` means an empty definition, not a null one."""
    services = merged.get("services")
    if isinstance(services, MDict):
        for name, value in list(services.items()):
            if value is None:
                empty_definition(services, name)


def _project_name(opts: LoadOptions, environment: dict[str, str], merged: MDict, working_dir: Path) -> str:
    if opts.project_name:
        return check_project_name(opts.project_name, "-p")
    if environment.get("COMPOSE_PROJECT_NAME"):
        return check_project_name(environment["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME")
    declared = merged.get("name")
    if declared not in (None, ""):
        text = str(declared)
        if not _VALID_NAME.match(text):
            pos = merged.where("name")
            raise SpecError(
                f'invalid project name "{text}": it must contain only lowercase letters, digits, dashes and '
                "underscores, and start with a letter or digit",
                file=pos[0] if pos else None,
                line=pos[1] if pos else None,
                column=pos[2] if pos else None,
                key="name",
            )
        return text
    name = normalize_project_name(working_dir.name)
    if not name:
        raise SpecError(f'cannot derive a project name from the directory "{working_dir.name}": use -p or name:')
    return name


def _profiles(given: list[str], environment: dict[str, str]) -> list[str]:
    out: list[str] = []
    for p in [*given, *environment.get("COMPOSE_PROFILES", "").split(",")]:
        p = p.strip()
        if p and p not in out:
            out.append(p)
    return out
