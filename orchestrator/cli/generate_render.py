"""``alpha generate``: a stack file written back from existing containers, as Compose's.

Compose rebuilds what it can from ``docker inspect`` (image, environment, mounts, ports, networks,
healthcheck). pystack keeps each container's whole normalized service, and the top-level
definitions it uses (``spec.definitions``), with its record, so the file written here is the
service as it was loaded: every key, in the long form ``config`` prints. Services are named as
their containers' services (several replicas make ``scale``); what a service refers to that is not
part of the output (``depends_on``, ``links``, ``volumes_from``, ``network_mode: service:…``) is
dropped with a warning, so the file loads on its own. Pure: the command reads the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import PystackError


@dataclass(frozen=True)
class Found:
    """One chosen container, as its record has it."""

    name: str
    project: str
    service: str
    one_off: bool
    image: str
    spec: dict[str, Any]


def generate(found: Sequence[Found], name: str | None) -> tuple[dict[str, Any], list[str]]:
    """The Compose document of these containers, and warnings about what it had to leave out."""
    from orchestrator.spec.models import Service
    from orchestrator.spec.serialize import service_to_compose

    groups: dict[tuple[str, str], list[Found]] = {}
    for f in sorted(found, key=lambda f: (f.one_off, f.project, f.service, f.name)):
        groups.setdefault((f.project, f.service), []).append(f)
    keys: dict[tuple[str, str], str] = {}
    for project, service in groups:
        taken = set(keys.values())
        keys[(project, service)] = service if service not in taken else f"{project}-{service}"

    warnings: list[str] = []
    services: dict[str, dict[str, Any]] = {}
    top: dict[str, dict[str, Any]] = {}
    for (project, service), members in groups.items():
        key = keys[(project, service)]
        first = members[0]
        raw = first.spec.get("service") or {}
        fields = {k: v for k, v in raw.items() if k in Service.model_fields}
        try:
            data = service_to_compose(Service.model_validate(fields))
        except Exception as exc:  # a record written by another version: say which, never a traceback
            raise PystackError(f"alpha generate: container {first.name}: its recorded service cannot be "
                               f"read back ({type(exc).__name__})") from None
        for merged in ("env_file", "label_file"):  # their values are in environment/labels already
            data.pop(merged, None)
        if not data.get("image"):
            data["image"] = first.image
        replicas = sum(1 for m in members if not m.one_off)
        data.pop("scale", None)
        if replicas > 1:
            data["scale"] = replicas
        _only_default_network(data)
        services[key] = data
        _merge_definitions(top, first, warnings)

    for (project, _service), key in keys.items():
        _drop_missing(services[key], key, {s: k for (p, s), k in keys.items() if p == project}, warnings)

    doc: dict[str, Any] = {}
    if name:
        doc["name"] = name
    doc["services"] = services
    for section in ("networks", "volumes", "secrets", "configs"):
        block = {k: v for k, v in sorted(top.get(section, {}).items()) if not (section == "networks"
                                                                                and k == "default" and not v)}
        if block:
            doc[section] = block
    return doc, warnings


def _only_default_network(data: dict[str, Any]) -> None:
    """A service on its project's default network alone says nothing about networks."""
    nets = data.get("networks")
    if isinstance(nets, dict) and list(nets) == ["default"] and not nets["default"]:
        del data["networks"]


def _merge_definitions(top: dict[str, dict[str, Any]], f: Found, warnings: list[str]) -> None:
    svc = f.spec.get("service") or {}
    recorded = f.spec.get("definitions")
    if recorded is None:  # a container made before definitions were recorded with it
        recorded = {"networks": {k: {} for k in svc.get("networks") or {}},
                    "volumes": {v["source"]: {} for v in svc.get("volumes") or []
                                if v.get("type") == "volume" and v.get("source")}}
        for kind in ("secrets", "configs"):
            for ref in svc.get(kind) or []:
                warnings.append(f"{kind[:-1]} {ref.get('source')!r} of {f.name}: its definition was not recorded "
                                f"with the container; add it under top-level {kind}")
    for section, entries in recorded.items():
        block = top.setdefault(section, {})
        for key, definition in entries.items():
            if section in ("secrets", "configs") and not definition.keys() & {"file", "environment", "external"}:
                warnings.append(f"{section[:-1]} {key!r} of {f.name}: its content is not kept with the container; "
                                f"add it under top-level {section}")
                continue
            if key in block and block[key] != definition:
                raise PystackError(f"alpha generate: the chosen containers define {section[:-1]} {key!r} "
                                   "differently (they belong to different projects); generate them one project "
                                   "at a time")
            block[key] = definition


def _drop_missing(data: dict[str, Any], key: str, present: dict[str, str], warnings: list[str]) -> None:
    """References to services left out of the output are dropped; those kept follow renames."""
    def say(what: str) -> None:
        warnings.append(f"service {key!r}: {what} dropped: no container of it was chosen")

    deps = data.get("depends_on")
    if isinstance(deps, dict):
        for dep in list(deps):
            if dep not in present:
                say(f"depends_on {dep}")
                del deps[dep]
            elif present[dep] != dep:
                deps[present[dep]] = deps.pop(dep)
        if not deps:
            del data["depends_on"]
    links = data.get("links")
    if isinstance(links, list):
        kept = []
        for link in links:
            target, _, alias = link.partition(":")
            if target in present:
                kept.append(f"{present[target]}:{alias or target}" if present[target] != target else link)
            else:
                say(f"link {target}")
        if kept:
            data["links"] = kept
        else:
            del data["links"]
    sources = data.get("volumes_from")
    if isinstance(sources, list):
        kept = []
        for entry in sources:
            target, sep, mode = entry.partition(":")
            if target == "container" or target in present:
                kept.append(entry if target == "container" else f"{present[target]}{sep}{mode}")
            else:
                say(f"volumes_from {target}")
        if kept:
            data["volumes_from"] = kept
        else:
            del data["volumes_from"]
    for field in ("network_mode", "ipc", "pid"):
        value = data.get(field)
        if isinstance(value, str) and value.startswith("service:"):
            target = value[len("service:"):]
            if target in present:
                data[field] = f"service:{present[target]}"
            else:
                say(f"{field} service:{target}")
                del data[field]
