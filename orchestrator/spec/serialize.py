"""A normalized Stack back to a Compose document (what ``pystack config`` prints).

The output uses only Compose keys, in their long form, so it loads back — in pystack or in
Docker Compose — to the same model: the round trip is tested.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.spec.models.resources import SERVICE_RESOURCE_KEYS
from orchestrator.spec.models.service import Service
from orchestrator.spec.models.stack import Stack

_RESOURCE_TO_KEY = {field: key for key, (field, _) in SERVICE_RESOURCE_KEYS.items()}
_DEPLOY_CONDITION = {"no": "none", "always": "any", "on-failure": "on-failure", "unless-stopped": "any"}


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def service_to_compose(svc: Service) -> dict[str, Any]:
    data = svc.model_dump(mode="json", exclude_defaults=True,
                          exclude={"name", "resources", "restart", "deploy", "extensions", "nested_extensions", "ports",
                                   "depends_on", "links", "extra_hosts", "volumes", "pre_start"})
    if svc.ports:
        data["ports"] = [_drop_none(p.model_dump(mode="json")) for p in svc.ports]
    if svc.volumes:
        data["volumes"] = [_drop_none(v.model_dump(mode="json", exclude_defaults=False)) for v in svc.volumes]
    if svc.pre_start:  # what each hook wrote (normalized), not the whole service it inherits
        data["pre_start"] = [_hook_to_compose(h) for h in svc.pre_start]
    if svc.depends_on:
        data["depends_on"] = {k: v.model_dump(mode="json") for k, v in svc.depends_on.items()}
    if svc.links:
        data["links"] = [name if alias == name else f"{name}:{alias}" for name, alias in svc.links.items()]
    if svc.extra_hosts:
        data["extra_hosts"] = [f"{host}={ip}" for host, ip in svc.extra_hosts]
    if svc.healthcheck is not None:  # exclude_defaults keeps serialized Nones: the fields left out
        data["healthcheck"] = _drop_none(svc.healthcheck.model_dump(mode="json", exclude_defaults=True))
    if svc.build is not None:
        build = svc.build.model_dump(mode="json", exclude_defaults=True)
        build["context"] = svc.build.context
        build["dockerfile"] = svc.build.dockerfile
        if svc.build.extra_hosts:
            build["extra_hosts"] = [f"{h}={ip}" for h, ip in svc.build.extra_hosts]
        if svc.build.ulimits:
            build["ulimits"] = _ulimits(svc.build.ulimits)
        data["build"] = build

    deploy: dict[str, Any] = {}
    if svc.deploy is not None:
        deploy = svc.deploy.model_dump(mode="json", exclude_defaults=True, exclude={"devices", "generic_resources"})
        reservations: dict[str, Any] = {}
        if svc.deploy.devices:
            reservations["devices"] = [_drop_none(d.model_dump(mode="json", exclude_defaults=True))
                                       for d in svc.deploy.devices]
        if svc.deploy.generic_resources:
            reservations["generic_resources"] = svc.deploy.generic_resources
        if reservations:
            deploy["resources"] = {"reservations": reservations}

    res = svc.resources
    for field, value in res.model_dump(mode="json", exclude_defaults=True).items():
        if field == "ulimits":
            data["ulimits"] = _ulimits(res.ulimits)
        elif field == "blkio":
            data["blkio_config"] = value
        elif field == "cpus_reservation":
            deploy.setdefault("resources", {}).setdefault("reservations", {})["cpus"] = value
        else:
            data[_RESOURCE_TO_KEY[field]] = value

    restart = svc.restart
    if restart.condition != "no" or restart.max_attempts is not None:
        data["restart"] = restart.to_compose()
    if restart.delay is not None or restart.window is not None:
        policy: dict[str, Any] = {"condition": _DEPLOY_CONDITION[restart.condition]}
        dumped = restart.model_dump(mode="json")
        for key in ("delay", "window", "max_attempts"):
            if dumped.get(key) is not None:
                policy[key] = dumped[key]
        deploy["restart_policy"] = policy
    if deploy:
        data["deploy"] = deploy
    if svc.scale != 1:
        data["scale"] = svc.scale
    for path, ext in svc.nested_extensions.items():
        _put_back(data, json.loads(path), ext)
    data.update(svc.extensions)
    return data


def _hook_to_compose(hook: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(hook.get("hook") or {}))
    if hook.get("per_replica"):
        data["per_replica"] = True
    return data


def _put_back(data: dict[str, Any], path: list[Any], ext: dict[str, Any]) -> None:
    """Re-attach nested ``x-*`` keys where they were; a path the output no longer has is skipped."""
    parent: Any = None
    step: Any = None
    cur: Any = data
    for part in path:
        parent, step = cur, part
        if isinstance(part, list):
            i, n = part
            if not isinstance(cur, list) or len(cur) != n:
                return
            cur = cur[i]
        elif isinstance(cur, dict):
            # a section the output folds elsewhere (deploy.resources into mem_limit…) is recreated
            cur = cur.setdefault(part, {})
        else:
            return
    if cur is None and isinstance(parent, dict):
        cur = parent[step] = {}
    if isinstance(cur, dict):
        cur.update(ext)


def _ulimits(ulimits: dict[str, tuple[int, int]]) -> dict[str, Any]:
    return {name: soft if soft == hard else {"soft": soft, "hard": hard} for name, (soft, hard) in ulimits.items()}


def stack_to_compose(stack: Stack, *, include_disabled: bool = False) -> dict[str, Any]:
    services = dict(stack.services)
    if include_disabled:
        services.update(stack.disabled_services)
    out: dict[str, Any] = {"name": stack.name, "services": {}}
    for name in sorted(services):
        out["services"][name] = service_to_compose(services[name])
    for section in ("networks", "volumes", "configs", "secrets"):
        items = getattr(stack, section)
        if not items:
            continue
        block: dict[str, Any] = {}
        for key in sorted(items):
            obj = items[key]
            entry = obj.model_dump(mode="json", exclude_defaults=True, exclude={"extensions"})
            entry["name"] = obj.name
            entry.update(obj.extensions)
            block[key] = entry
        out[section] = block
    out.update(stack.extensions)
    return out


def dump_yaml(data: Any) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def dump_json(data: Any) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def escape_interpolation(value: Any) -> Any:
    """``$`` → ``$$`` in every string, so printed values survive being interpolated again."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: escape_interpolation(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_interpolation(v) for v in value]
    return value


def _relative(path: Any, base: str) -> Any:
    if not isinstance(path, str):
        return path
    if path == base:
        return "."
    if path.startswith(base.rstrip("/") + "/"):
        return "./" + path[len(base.rstrip("/")) + 1:]
    return path


def relative_paths(data: dict[str, Any], base: str) -> dict[str, Any]:
    """``config --no-path-resolution``: the host paths the loader made absolute, shown relative to
    the project directory again (``./data``); a path outside it stays absolute. In place; returns ``data``."""
    for svc in (data.get("services") or {}).values():
        build = svc.get("build")
        if isinstance(build, dict) and "context" in build:
            build["context"] = _relative(build["context"], base)
        for vol in svc.get("volumes") or []:
            if isinstance(vol, dict) and vol.get("type") == "bind":
                vol["source"] = _relative(vol.get("source"), base)
        for entry in svc.get("env_file") or []:
            if isinstance(entry, dict):
                entry["path"] = _relative(entry.get("path"), base)
        if svc.get("label_file"):
            svc["label_file"] = [_relative(p, base) for p in svc["label_file"]]
        for rule in (svc.get("develop") or {}).get("watch") or []:
            if isinstance(rule, dict):
                rule["path"] = _relative(rule.get("path"), base)
        if svc.get("security_opt"):
            svc["security_opt"] = [f"seccomp={_relative(o[8:], base)}" if o.startswith("seccomp=") else o
                                   for o in svc["security_opt"]]
    for section in ("configs", "secrets"):
        for obj in (data.get(section) or {}).values():
            if isinstance(obj, dict) and "file" in obj:
                obj["file"] = _relative(obj["file"], base)
    return data
