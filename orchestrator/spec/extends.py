"""``extends``: a service built on another one, from the same file or another file, to any depth.

The base service is resolved first (it may itself extend), its relative paths are made absolute
against the directory of the file that defines it, then the local definition is merged over it with
the ordinary merge rules (``!reset``/``!override`` included). A chain that comes back to a service
already on it is an error naming the whole cycle.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from orchestrator.spec.context import LoadContext, display_name
from orchestrator.spec.merge import merge_service
from orchestrator.spec.source import MDict, MList, Pos, clone, error_at

_REMOTE_PREFIXES = ("git@", "github.com/", "service:", "docker-image:", "oci-layout:")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")


def check_local_reference(value: str, pos: Pos | None, path: tuple[str | int, ...]) -> None:
    """``extends.file`` / ``include`` naming a remote resource (``git@…``, ``oci://…``) is not supported."""
    if "://" in value or value.startswith("git@") or _SCHEME.match(value):
        raise error_at(pos, f'remote stack files are not supported: "{value}"', path)


def _is_remote(text: str) -> bool:
    return "://" in text or text.startswith(_REMOTE_PREFIXES)


def rebase_path(value: Any, base: Path) -> Any:
    """``value`` made absolute against ``base`` when it is a relative local path."""
    if not isinstance(value, str) or not value or os.path.isabs(value) or value.startswith("~"):
        return value
    if _is_remote(value):
        return value
    return os.path.normpath(os.path.join(base, value))


def _rebase_file_list(value: Any, base: Path) -> Any:
    if isinstance(value, str):
        return rebase_path(value, base)
    if isinstance(value, MList):
        for i, item in enumerate(value):
            if isinstance(item, str):
                value[i] = rebase_path(item, base)
            elif isinstance(item, MDict) and "path" in item:
                item["path"] = rebase_path(item["path"], base)
    return value


def _rebase_volume(item: Any, base: Path) -> Any:
    if isinstance(item, str):
        src, sep, rest = item.partition(":")
        if sep and src.startswith("."):
            return rebase_path(src, base) + ":" + rest
        return item
    if isinstance(item, MDict):
        source = item.get("source")
        kind = item.get("type")
        if isinstance(source, str) and (kind == "bind" or (kind is None and source.startswith("."))):
            item["source"] = rebase_path(source, base)
    return item


def rebase_service(service: Any, base: Path) -> None:
    """Make the service's relative host paths absolute against ``base``, in place."""
    if not isinstance(service, MDict):
        return
    build = service.get("build")
    if isinstance(build, str):
        service["build"] = rebase_path(build, base)
    elif isinstance(build, MDict):
        if "context" in build:
            build["context"] = rebase_path(build["context"], base)
        else:
            build["context"] = str(base)
        extra = build.get("additional_contexts")
        if isinstance(extra, MDict):
            for k, v in extra.items():
                extra[k] = rebase_path(v, base)
        elif isinstance(extra, MList):
            for i, v in enumerate(extra):
                if isinstance(v, str) and "=" in v:
                    name, _, p = v.partition("=")
                    extra[i] = f"{name}={rebase_path(p, base)}"
    for key in ("env_file", "label_file"):
        if key in service:
            service[key] = _rebase_file_list(service[key], base)
    volumes = service.get("volumes")
    if isinstance(volumes, MList):
        for i, item in enumerate(volumes):
            volumes[i] = _rebase_volume(item, base)
    ext = service.get("extends")
    if isinstance(ext, MDict) and isinstance(ext.get("file"), str):
        ext["file"] = rebase_path(ext["file"], base)
    develop = service.get("develop")
    if isinstance(develop, MDict) and isinstance(develop.get("watch"), MList):
        for rule in develop["watch"]:
            if isinstance(rule, MDict) and "path" in rule:
                rule["path"] = rebase_path(rule["path"], base)


def rebase_project(doc: MDict, base: Path) -> None:
    """Every relative host path of a whole stack file made absolute (for included projects)."""
    services = doc.get("services")
    if isinstance(services, MDict):
        for svc in services.values():
            rebase_service(svc, base)
    for section in ("configs", "secrets"):
        items = doc.get(section)
        if isinstance(items, MDict):
            for item in items.values():
                if isinstance(item, MDict) and "file" in item:
                    item["file"] = rebase_path(item["file"], base)


def empty_definition(section: MDict, name: str) -> MDict:
    """``web:`` with nothing after it is an empty definition, located at its key (a null has no place)."""
    where = section.kpos.get(name) or section.where(name)
    svc = MDict(where)
    section[name] = svc
    if where is not None:
        section.vpos[name] = where
    return svc


class _Resolver:
    def __init__(self, ctx: LoadContext) -> None:
        self.ctx = ctx
        self.done: dict[tuple[str, str], Any] = {}
        self.files: dict[str, MDict] = {}

    def services_of(self, path: Path, at: Pos | None) -> MDict:
        key = str(path)
        doc = self.files.get(key)
        if doc is None:
            doc = self.ctx.read_file(path, at=at)
            self.files[key] = doc
        services = doc.get("services")
        if services is None:
            services = MDict(doc.pos)
            doc["services"] = services
        if not isinstance(services, MDict):
            raise error_at(doc.where("services"), "services must be a mapping", ("services",))
        return services

    def resolve(
        self, services: MDict, name: str, file_key: str, base_dir: Path, chain: tuple[tuple[str, str], ...]
    ) -> Any:
        me = (file_key, name)
        if me in self.done:
            return self.done[me]
        if me in chain:
            cycle = " -> ".join(f"{n}" for _, n in (*chain[chain.index(me) :], me))
            raise error_at(services.where(name), f"extends cycle: {cycle}", ("services", name, "extends"))
        svc = services.get(name)
        if not isinstance(svc, MDict) or "extends" not in svc:
            if svc is None:
                svc = empty_definition(services, name)
            self.done[me] = svc
            return svc
        path = ("services", name, "extends")
        ext = svc["extends"]
        ext_pos = svc.where("extends")
        target_name: Any
        target_file: Any
        if isinstance(ext, str):
            target_name, target_file = ext, None
        elif isinstance(ext, MDict):
            target_name, target_file = ext.get("service"), ext.get("file")
            if not isinstance(target_name, str) or not target_name:
                raise error_at(ext_pos, "extends needs the name of a service", path)
            if target_file is not None and not isinstance(target_file, str):
                raise error_at(ext.where("file"), "extends.file must be a path", (*path, "file"))
        else:
            raise error_at(ext_pos, "extends must be a service name or a mapping", path)
        if target_file:
            check_local_reference(target_file, ext.where("file") if isinstance(ext, MDict) else ext_pos, path)
            target_path = Path(os.path.normpath(os.path.join(base_dir, target_file)))
            target_services = self.services_of(target_path, ext_pos)
            target_key, target_dir = str(target_path), target_path.parent
        else:
            target_services, target_key, target_dir = services, file_key, base_dir
        if target_name not in target_services:
            where = f" in {display_name(Path(target_key))}" if target_file else ""
            raise error_at(ext_pos, f'extends names unknown service "{target_name}"{where}', path)
        base = clone(self.resolve(target_services, target_name, target_key, target_dir, (*chain, me)))
        if target_dir != base_dir:
            rebase_service(base, target_dir)
        local = MDict(svc.pos)
        for k in svc:
            if k != "extends":
                local.copy_entry(svc, k)
                if k in svc.tags:
                    local.tags[k] = svc.tags[k]
        merged = merge_service(base, local, name)
        merged.pos = svc.pos
        services[name] = merged
        self.done[me] = merged
        return merged


def apply_extends(doc: MDict, ctx: LoadContext, file_key: str, base_dir: Path) -> None:
    """Resolve every ``extends`` of the services of ``doc`` in place."""
    services = doc.get("services")
    if services is None:
        return
    if not isinstance(services, MDict):
        raise error_at(doc.where("services"), "services must be a mapping", ("services",))
    resolver = _Resolver(ctx)
    for name in list(services):
        try:
            resolver.resolve(services, name, file_key, base_dir, ())
        except RecursionError:
            raise error_at(services.where(name), "extends chain is too deep", ("services", name, "extends")) from None
