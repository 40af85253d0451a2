"""``include``: other Compose projects pulled into this one, each with its own directory and ``.env``.

An entry is a path (or list of paths, merged like ``-f`` files) with an optional
``project_directory`` (default: the first file's directory) and ``env_file`` (default: that
directory's ``.env``). Included files are interpolated with their own variables — the including
project's variables win over the included ``.env`` —, their relative paths are made absolute against
their project directory, and their resources are added to this file. Those variables stay with the
included services: their ``KEY``-alone entries and env files are resolved with them later. A
resource the including file (or another include) already defines differently is an error, as is a
file that includes itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from orchestrator.spec.cache import probe_is_file
from orchestrator.spec.context import LoadContext, display_name
from orchestrator.spec.dotenv import lookup_in, read_env_file
from orchestrator.spec.extends import apply_extends, check_local_reference, rebase_project
from orchestrator.spec.merge import merge_files, strip_tags
from orchestrator.spec.source import MDict, MList, Path_, Pos, error_at, plain

SECTIONS = ("services", "networks", "volumes", "configs", "secrets", "models")


def _paths(value: Any, pos: Pos | None, path: Path_) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, MList) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise error_at(pos, "include path must be a file path or a list of paths", path)


def _plain(value: Any) -> Any:
    return plain(value)


def apply_includes(doc: MDict, ctx: LoadContext, project_dir: Path, file_key: str) -> MDict:
    """Replace ``doc``'s ``include`` by the resources it brings in."""
    entries = doc.pop("include", None)
    if entries is None:
        return doc
    inc_pos = doc.where("include")
    if not isinstance(entries, MList):
        raise error_at(inc_pos, "include must be a list", ("include",))
    imported: dict[str, MDict] = {}
    origin: dict[tuple[str, str], str] = {}
    for i, entry in enumerate(entries):
        epath: Path_ = ("include", i)
        epos = entries.where(i)
        if isinstance(entry, str):
            files, proj, env_files = [entry], None, None
        elif isinstance(entry, MDict):
            unknown = set(entry) - {"path", "project_directory", "env_file"}
            if unknown:
                k = sorted(unknown)[0]
                raise error_at(entry.kpos.get(k, epos), f'unknown include attribute "{k}"', (*epath, k))
            if "path" not in entry:
                raise error_at(epos, "include entry needs a path", epath)
            files = _paths(entry["path"], entry.where("path"), (*epath, "path"))
            proj = entry.get("project_directory")
            env_files = entry.get("env_file")
        else:
            raise error_at(epos, "include entry must be a path or a mapping", epath)
        for name in files:
            check_local_reference(name, epos, epath)
        abs_files = [Path(os.path.normpath(os.path.join(project_dir, f))) for f in files]
        inc_dir = Path(os.path.normpath(os.path.join(project_dir, proj))) if proj else abs_files[0].parent
        for inc in abs_files:
            if str(inc) in ctx.include_stack or str(inc) == file_key:
                chain = [display_name(Path(p)) for p in (*ctx.include_stack, file_key)]
                raise error_at(epos, "include cycle: " + " -> ".join([*chain, display_name(inc)]), epath)
        env = _included_env(ctx, env_files, entry, epos, epath, project_dir, inc_dir)
        sub = ctx.child(env, file_key)
        merged: MDict | None = None
        for inc in abs_files:
            ctx.count_include(epos)
            tree = sub.read_file(inc, at=epos)
            tree = apply_includes(tree, sub, inc_dir, str(inc))
            apply_extends(tree, sub, str(inc), inc_dir)
            rebase_project(tree, inc_dir)
            merged = tree if merged is None else merge_files(merged, tree)
        assert merged is not None
        strip_tags(merged)
        services = merged.get("services")
        if isinstance(services, MDict):
            for name in services:
                # a nested include recorded its own services first: the innermost project's variables win
                ctx.service_environments.setdefault(name, env)
        for section in SECTIONS:
            items = merged.get(section)
            if not isinstance(items, MDict):
                continue
            into = imported.setdefault(section, MDict(items.pos))
            for name in items:
                key = (section, name)
                if name in into and _plain(into[name]) != _plain(items[name]):
                    raise error_at(
                        epos,
                        f"{section}.{name} from {display_name(abs_files[0])} conflicts with the one from {origin[key]}",
                        epath,
                    )
                into.copy_entry(items, name)
                origin[key] = display_name(abs_files[0])
    for section, items in imported.items():
        own = doc.get(section)
        if own is None:
            doc.put(section, items, items.pos)
            continue
        if not isinstance(own, MDict):
            continue  # reported by validation
        for name in items:
            if name in own:
                if _plain(own[name]) == _plain(items[name]):
                    continue
                raise error_at(
                    own.where(name),
                    f'{section} "{name}" is already defined by included file {origin[(section, name)]}',
                    (section, name),
                )
            own.copy_entry(items, name)
    return doc


def _included_env(
    ctx: LoadContext,
    env_files: Any,
    entry: Any,
    epos: Pos | None,
    epath: Path_,
    project_dir: Path,
    inc_dir: Path,
) -> dict[str, str]:
    parent = ctx.environment
    if env_files is None:
        candidates = [(inc_dir / ".env", False)]
    else:
        names = _paths(env_files, entry.where("env_file") if isinstance(entry, MDict) else epos,
                       (*epath, "env_file"))  # fmt: skip
        candidates = [(Path(os.path.normpath(os.path.join(project_dir, n))), True) for n in names]
    loaded: dict[str, str] = {}
    for path, required in candidates:
        if not required and not probe_is_file(path):
            continue
        loaded.update(
            read_env_file(path, required=required, lookup=lookup_in(parent, loaded), display=display_name(path))
        )
    return {**loaded, **parent}
