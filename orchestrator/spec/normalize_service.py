"""Short Compose syntax → the long form of :class:`~orchestrator.spec.models.Service`, one key at a time.

Each handler turns one key's value into the model's field values, raising ``Invalid`` for what
it cannot understand; the driver records the error at the key's path and carries on, so one run
reports every problem. Unknown keys are passed through for the model to reject with a position.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.spec import isolation_keys
from orchestrator.spec.models.build import normalize_build
from orchestrator.spec.models.deploy import DEPLOY_KEYS, DEPLOY_WARNED
from orchestrator.spec.models.extra_hosts import parse_extra_hosts
from orchestrator.spec.models.healthcheck import normalize_healthcheck
from orchestrator.spec.models.networks import normalize_service_networks
from orchestrator.spec.models.paths import resolve_path
from orchestrator.spec.models.ports import parse_ports
from orchestrator.spec.models.resources import (
    SERVICE_RESOURCE_KEYS,
    parse_blkio,
    parse_deploy_resources,
    parse_ulimits,
    reconcile_resources,
)
from orchestrator.spec.models.restart import parse_deploy_restart, parse_restart, reconcile_restart
from orchestrator.spec.models.support import SERVICE_KEYS, WARNED_SERVICE_KEYS
from orchestrator.spec.models.units import (
    Invalid,
    MultiInvalid,
    drop_x,
    expect_str,
    kind,
    list_or_dict,
    parse_bool,
    parse_duration,
    parse_int,
    scalar_str,
    string_list,
)
from orchestrator.spec.models.volumes import parse_volumes
from orchestrator.spec.pre_start import normalize_pre_start
from orchestrator.spec.report import Path_, Report

Lookup = Callable[[str], str | None]
#: (path, required, format, lookup for ``${VAR}`` and ``KEY``-alone lines) → the file's variables
EnvReader = Callable[[str, bool, str | None, Lookup], dict[str, str]]


@dataclass
class Context:
    """What normalising one service needs from its project: its name, its base directory and its environment.

    ``service_environments`` holds the variables of services that came from an ``include`` with its
    own ``.env`` or ``env_file``: Compose resolves such a service's ``KEY``-alone entries and its
    env files with the included project's variables, not only the including one's.
    """
    project: str
    base: str
    report: Report
    environment: Mapping[str, str] = field(default_factory=dict)
    read_env_file: EnvReader | None = None
    service_environments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def home(self) -> str | None:
        return self.environment.get("HOME")

    def for_service(self, name: str) -> Context:
        """The context one service is normalized in: its own variables when an include gave it some."""
        own = self.service_environments.get(name)
        return self if own is None else replace(self, environment=own)


def _command(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise Invalid(f'cannot split "{value}": {exc}') from None
    return string_list(value, "argument")


def _hooks(value: Any, ctx: Context) -> list[dict[str, Any]]:
    """``post_start`` / ``pre_stop``: each hook a command (exec or shell form, split as ``command``)
    and the exec options Compose gives it; every bad entry is reported, each at its own path."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid("expected a list of hooks, each a mapping with a command")
    out: list[dict[str, Any]] = []
    errors: list[Invalid] = []
    for i, raw in enumerate(value):
        hook, problems = _hook(raw, ctx)
        errors.extend(Invalid(e.message, (i, *e.subpath)) for e in problems)
        out.append(hook)
    if errors:
        raise MultiInvalid(errors)
    return out


def _hook(raw: Any, ctx: Context) -> tuple[dict[str, Any], list[Invalid]]:
    """One exec as a hook or a watch rule's ``exec`` gives it, and its problems (paths within it)."""
    if not isinstance(raw, dict):
        return {}, [Invalid("expected a mapping with a command")]
    hook: dict[str, Any] = {}
    errors: list[Invalid] = []
    for key, v in raw.items():
        try:
            if isinstance(key, str) and key.startswith("x-"):
                continue
            if key not in _HOOK_KEYS:
                raise Invalid(f"unknown key {key!r} (a hook has {', '.join(_HOOK_KEYS)})")
            if v is None:
                continue
            if key == "command":
                hook["command"] = _command(v)
            elif key == "privileged":
                hook["privileged"] = parse_bool(v)
            elif key == "environment":
                hook["environment"] = _environment(v, ctx)
            else:
                hook[key] = scalar_str(v, key)
        except Invalid as exc:
            errors.append(Invalid(exc.message, (key, *exc.subpath)))
    if not hook.get("command"):
        errors.append(Invalid("a hook needs a command", ("command",)))
    return hook, errors


def _develop(value: Any, ctx: Context) -> dict[str, Any] | None:
    """``develop``: its ``watch`` rules with their paths made absolute against the project
    directory, as Compose resolves them (``ignore`` patterns stay relative to the rule's path)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid(f"must be a mapping with a watch list, not {kind(value)}")
    errors: list[Invalid] = []
    rules: list[dict[str, Any]] = []
    for key, v in value.items():
        if isinstance(key, str) and key.startswith("x-"):
            continue
        if key != "watch":
            errors.append(Invalid(f"unknown key {key!r} (develop has watch)", (key,)))
            continue
        if v is None:
            continue
        if not isinstance(v, list):
            errors.append(Invalid("expected a list of rules", ("watch",)))
            continue
        for i, raw in enumerate(v):
            rule, problems = _watch_rule(raw, ctx)
            errors.extend(Invalid(e.message, ("watch", i, *e.subpath)) for e in problems)
            rules.append(rule)
    if errors:
        raise MultiInvalid(errors)
    return {"watch": rules}


WATCH_ACTIONS = ("sync", "rebuild", "restart", "sync+restart", "sync+exec")
_WATCH_KEYS = ("path", "action", "target", "ignore", "include", "exec", "initial_sync")


def _watch_rule(raw: Any, ctx: Context) -> tuple[dict[str, Any], list[Invalid]]:
    if not isinstance(raw, dict):
        return {}, [Invalid("expected a mapping with a path and an action")]
    rule: dict[str, Any] = {"ignore": [], "include": [], "initial_sync": False}
    errors: list[Invalid] = []
    for key, v in raw.items():
        try:
            if isinstance(key, str) and key.startswith("x-"):
                continue
            if key not in _WATCH_KEYS:
                raise Invalid(f"unknown key {key!r} (a watch rule has {', '.join(_WATCH_KEYS)})")
            if key == "path":
                rule["path"] = resolve_path(expect_str(v, key), ctx.base, ctx.home)
            elif key == "action":
                action = expect_str(v, key)
                if action not in WATCH_ACTIONS:
                    raise Invalid(f"unknown action {action!r} (one of {', '.join(WATCH_ACTIONS)})")
                rule["action"] = action
            elif key == "target":
                target = expect_str(v, key)
                if not target.startswith("/"):
                    raise Invalid(f"{target!r}: the path in the container must be absolute")
                rule["target"] = target
            elif key in ("ignore", "include"):
                rule[key] = string_list(v, "pattern", allow_single=True)
            elif key == "initial_sync":
                rule[key] = parse_bool(v)
            else:
                hook, problems = _hook(v, ctx)
                errors.extend(Invalid(e.message, ("exec", *e.subpath)) for e in problems)
                rule["exec"] = hook
        except Invalid as exc:
            errors.append(Invalid(exc.message, (key, *exc.subpath)))
    for key in ("path", "action"):
        if key not in rule and not any(e.subpath[:1] == (key,) for e in errors):
            errors.append(Invalid(f"a watch rule needs a {key}", (key,)))
    action = rule.get("action", "")
    if action.startswith("sync") and "target" not in rule and not any(e.subpath[:1] == ("target",) for e in errors):
        errors.append(Invalid(f"action {action} needs a target (where the files go in the container)", ("target",)))
    if action == "sync+exec" and "exec" not in rule:
        errors.append(Invalid("action sync+exec needs an exec (the command to run after a sync)", ("exec",)))
    return rule, errors


def _str_map(value: Any, what: str) -> dict[str, str]:
    return {k: ("" if v is None else v) for k, v in list_or_dict(value, what).items()}


def _depends_on(value: Any) -> dict[str, dict[str, Any]]:
    if isinstance(value, list):
        return {name: {"condition": "service_started", "required": True, "restart": False}
                for name in string_list(value, "service")}
    if not isinstance(value, dict):
        raise Invalid(f"must be a list or a mapping, not {kind(value)}")
    out: dict[str, dict[str, Any]] = {}
    for name, item in value.items():
        entry = drop_x(item) if isinstance(item, dict) else item
        if isinstance(entry, dict):
            for flag in ("required", "restart"):
                if flag in entry:
                    try:
                        entry[flag] = parse_bool(entry[flag])
                    except Invalid as exc:
                        raise Invalid(exc.message, (name, flag)) from None
        else:
            raise Invalid("must be a mapping with a condition", (name,))
        if "condition" not in entry:
            raise Invalid("condition is required (service_started, service_healthy or "
                          "service_completed_successfully)", (name,))
        out[name] = entry
    return out


def _links(value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in string_list(value, "link"):
        service, _, alias = item.partition(":")
        out[service] = alias or service
    return out


def _refs(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise Invalid(f"must be a list, not {kind(value)}")
    out: list[Any] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            out.append({"source": item})
        elif isinstance(item, dict):
            entry = drop_x(item)
            for key in ("uid", "gid"):
                if entry.get(key) is not None:
                    entry[key] = scalar_str(entry[key])
            if isinstance(entry.get("mode"), str):
                try:
                    entry["mode"] = int(entry["mode"], 8)
                except ValueError:
                    raise Invalid(f"invalid mode {entry['mode']!r}: must be octal", (i, "mode")) from None
            out.append(entry)
        else:
            raise Invalid(f"must be a string or a mapping, not {kind(item)}", (i,))
    return out


_DEVICE = re.compile(r"^([^:]+)(?::([^:]+))?(?::([rwm]+))?$")


def _devices(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise Invalid(f"must be a list, not {kind(value)}")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            out.append(drop_x(item))
            continue
        if not isinstance(item, str):
            raise Invalid(f"must be a string or a mapping, not {kind(item)}", (i,))
        match = _DEVICE.match(item)
        if not match:
            raise Invalid(f'invalid device "{item}": expected HOST[:CONTAINER[:PERMISSIONS]]', (i,))
        source, target, perms = match.groups()
        if target and re.fullmatch(r"[rwm]+", target) and perms is None:
            target, perms = None, target
        out.append({"source": source, "target": target or source, "permissions": perms or "rwm"})
    return out


def _logging(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"must be a mapping, not {kind(value)}")
    out = drop_x(value)
    if value.get("options") is not None:
        out["options"] = list_or_dict(value["options"], "option")
    return out


def _env_files(value: Any, ctx: Context) -> list[dict[str, Any]]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise Invalid(f"must be a string or a list, not {kind(value)}")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            entry: dict[str, Any] = {"path": item, "required": True}
        elif isinstance(item, dict):
            entry = dict(item)
            if "required" in entry:
                entry["required"] = parse_bool(entry["required"])
        else:
            raise Invalid(f"must be a string or a mapping, not {kind(item)}", (i,))
        if not isinstance(entry.get("path"), str):
            raise Invalid("an env_file entry needs a path", (i, "path"))
        entry["path"] = resolve_path(entry["path"], ctx.base, ctx.home)
        out.append(entry)
    return out


def _read_env_files(files: list[dict[str, Any]], ctx: Context, path: Path_,
                    environment: Mapping[str, str | None]) -> dict[str, str]:
    """The variables of a service's env files, later files over earlier ones.

    ``${VAR}`` and ``KEY``-alone lines look in the project's variables, then in the service's own
    ``environment``, then in what the earlier files (and earlier lines) defined: compose-go's order
    (``WithServicesEnvironmentResolved``), so ``two.env`` can build on ``one.env``.
    """
    merged: dict[str, str] = {}
    if ctx.read_env_file is None:
        return merged
    project = ctx.environment
    own = {k: v for k, v in environment.items() if v is not None}

    def lookup(name: str) -> str | None:
        for source in (project, own, merged):
            value = source.get(name)
            if value is not None:
                return value
        return None

    for i, entry in enumerate(files):
        try:
            merged.update(ctx.read_env_file(entry["path"], entry.get("required", True), entry.get("format"), lookup))
        except Invalid as exc:
            ctx.report.error((*path, i), exc.message)
        except Exception as exc:  # the reader raises SpecError/OSError with its own message
            ctx.report.error((*path, i), getattr(exc, "detail", None) or str(exc))
    return merged


def _label_files(value: Any, ctx: Context) -> list[str]:
    return [resolve_path(p, ctx.base, ctx.home) for p in string_list(value, "path", allow_single=True)]


def _resolve_bare(values: Mapping[str, str | None], ctx: Context) -> dict[str, str | None]:
    """``KEY`` with no value takes the project's value; without one it stays ``None`` (unset)."""
    return {k: (v if v is not None else ctx.environment.get(k)) for k, v in values.items()}


def _environment(value: Any, ctx: Context) -> dict[str, str | None]:
    return _resolve_bare(list_or_dict(value, "variable"), ctx)


# Build keys that load but that pystack's builder (offline, one platform, its own runtime) does
# not apply: each one set is named in a warning rather than dropped without a word.
_BUILD_WARNED = {
    "cache_from": "no external build cache (pystack keeps its own)",
    "cache_to": "no external build cache (pystack keeps its own)",
    "platforms": "images are built for this machine's platform only",
    "entitlements": "RUN steps get no extra entitlements",
    "provenance": "no provenance attestation is made",
    "sbom": "no SBOM attestation is made",
    "isolation": "isolation is a Windows setting",
    "privileged": "RUN steps are not privileged",
    "no_cache_filter": "use --no-cache (or no_cache) for the whole build",
}


def _build(value: Any, ctx: Context, path: Path_ = ()) -> dict[str, Any]:
    """Build args are resolved like ``environment`` (compose-go uses the same lookup for both)."""
    build = normalize_build(value, ctx.base, ctx.home)
    if "args" in build:
        build["args"] = _resolve_bare(build["args"], ctx)
    for key, why in _BUILD_WARNED.items():
        if build.get(key) not in (None, False, [], {}, ""):
            ctx.report.warn((*path, key), f"not honoured by pystack's builder: {why}")
    return build


_SIMPLE_STR = ("image", "working_dir", "user", "hostname", "domainname", "container_name", "network_mode",
               "mac_address", "stop_signal", "runtime", "platform", "pull_policy", "userns_mode", "ipc",
               "pid", "uts", "cgroup", "cgroup_parent", "isolation", "pull_refresh_after")
_BOOLS = ("init", "privileged", "read_only", "stdin_open", "tty", "attach", "use_api_socket")
_LISTS = ("cap_add", "cap_drop", "security_opt", "external_links", "volumes_from", "device_cgroup_rules",
          "group_add", "expose", "dns_opt", "profiles")
_STRING_OR_LIST = ("dns", "dns_search", "tmpfs")
_MAPS = ("sysctls", "annotations")
_PASS = ("credential_spec", "gpus", "models", "provider", "storage_opt")
_HOOK_KEYS = ("command", "user", "privileged", "working_dir", "environment")

_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_PULL_POLICY = re.compile(r"^(always|never|build|if_not_present|missing|refresh|daily|weekly|every_([0-9]+[wdhms])+)$")


def normalize_service(name: str, raw: Any, ctx: Context, path: Path_ | None = None) -> dict[str, Any] | None:
    """The model's field values for one service; ``None`` when it is not even a mapping.

    ``path``: where its keys are reported, when it is not the service itself (a ``pre_start``
    hook, normalized as the service it makes: :mod:`orchestrator.spec.pre_start`)."""
    hook = path is not None
    path = path if path is not None else ("services", name)
    errors_before = len(ctx.report.errors)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        ctx.report.error(path, f"a service must be a mapping, not {kind(raw)}")
        return None
    out: dict[str, Any] = {"name": name}
    extensions: dict[str, Any] = {}
    resources_here: dict[str, Any] = {}
    deploy_resources: dict[str, Any] = {}
    restart_here: dict[str, Any] | None = None
    restart_deploy: dict[str, Any] | None = None
    scale: int | None = None
    replicas: int | None = None
    env_from_files: dict[str, str] = {}
    environment: dict[str, str | None] = {}

    for key, value in raw.items():
        kpath: Path_ = (*path, key)
        if not isinstance(key, str):
            ctx.report.error(path, f"invalid key {key!r}: keys must be strings")
            continue
        if key.startswith("x-"):
            extensions[key] = value
            continue
        if key == "pre_start":
            continue  # once the rest is known good: each hook inherits the service (below)
        if key in WARNED_SERVICE_KEYS and value not in (None, [], {}, False):
            ctx.report.warn(kpath, f"accepted but not honoured by pystack yet ({SERVICE_KEYS[key].note})")
        try:
            if key in _SIMPLE_STR:
                if value is not None:
                    out[key] = scalar_str(value, key) if key != "container_name" else expect_str(value, key)
            elif key in _BOOLS:
                out[key] = None if value is None else parse_bool(value)
            elif key == "security_opt":
                out[key] = _security_opts(string_list(value, key), ctx, kpath)
            elif key in _LISTS:
                out[key] = string_list(value, key)
            elif key in _STRING_OR_LIST:
                out[key] = string_list(value, key, allow_single=True)
            elif key in _MAPS:
                out[key] = _str_map(value, key)
            elif key in _PASS:
                out[key] = value
            elif key in ("command", "entrypoint"):
                out[key] = _command(value)
            elif key in ("post_start", "pre_stop"):
                out[key] = _hooks(value, ctx)
            elif key == "develop":
                out[key] = _develop(value, ctx)
            elif key == "environment":
                environment = _environment(value, ctx)
            elif key == "env_file":
                out["env_file"] = _env_files(value, ctx)
            elif key == "labels":
                out["labels"] = {**out.get("labels", {}), **_str_map(value, "label")}
            elif key == "label_file":
                out["label_file"] = _label_files(value, ctx)
            elif key == "ports":
                out["ports"] = parse_ports(value)
            elif key == "volumes":
                out["volumes"] = parse_volumes(value, ctx.base, ctx.home)
            elif key == "depends_on":
                out["depends_on"] = _depends_on(value)
            elif key == "links":
                out["links"] = _links(value)
            elif key == "networks":
                out["networks"] = normalize_service_networks(value)
            elif key == "healthcheck":
                out["healthcheck"] = normalize_healthcheck(value)
            elif key == "build":
                out["build"] = _build(value, ctx, kpath)
            elif key == "extra_hosts":
                out["extra_hosts"] = parse_extra_hosts(value)
            elif key in ("configs", "secrets"):
                out[key] = _refs(value)
            elif key == "devices":
                out["devices"] = _devices(value)
            elif key == "logging":
                out["logging"] = _logging(value)
            elif key == "restart":
                restart_here = parse_restart(value)
            elif key == "scale":
                scale = parse_int(value, "scale")
            elif key == "stop_grace_period":
                out["stop_grace_period"] = parse_duration(value)
            elif key in SERVICE_RESOURCE_KEYS:
                if value is not None:
                    field_name, parser = SERVICE_RESOURCE_KEYS[key]
                    resources_here[field_name] = parser(value)
            elif key == "ulimits":
                resources_here["ulimits"] = parse_ulimits(value)
            elif key == "blkio_config":
                resources_here["blkio"] = parse_blkio(value)
            elif key == "deploy":
                if value is None:
                    continue
                deploy, replicas, deploy_resources, restart_deploy = _deploy(value, kpath, ctx)
                if deploy:
                    out["deploy"] = deploy
            elif key == "extends":
                continue  # resolved by the loader; a reference to a missing service is its error
            else:
                out[key] = value  # unknown: the model reports it, with a suggestion
        except MultiInvalid as exc:
            for err in exc.errors:
                ctx.report.error((*kpath, *err.subpath), err.message)
        except Invalid as exc:
            ctx.report.error((*kpath, *exc.subpath), exc.message)

    if out.get("env_file"):  # read last: the files may refer to the service's own environment
        env_from_files = _read_env_files(out["env_file"], ctx, (*path, "env_file"), environment)
    # env_file contents first, the service's own environment wins (Compose's precedence)
    if env_from_files or environment:
        out["environment"] = {**env_from_files, **environment}
    resources, conflicts = reconcile_resources(resources_here, deploy_resources)
    for conflict in conflicts:
        ctx.report.error((*path, "deploy", "resources"), conflict)
    if resources:
        out["resources"] = resources
    restart, warning = reconcile_restart(restart_here, restart_deploy)
    if warning:
        ctx.report.warn((*path, "restart"), warning)
    out["restart"] = restart
    if scale is not None and replicas is not None and scale != replicas:
        ctx.report.error((*path, "scale"), f"scale ({scale}) and deploy.replicas ({replicas}) disagree")
    count = scale if scale is not None else replicas
    if count is not None:
        if count < 0:
            ctx.report.error((*path, "scale"), f"invalid scale {count}: must not be negative")
        out["scale"] = count
    if out.get("container_name") and not _CONTAINER_NAME.match(out["container_name"]):
        ctx.report.error((*path, "container_name"),
                         f'invalid container name "{out["container_name"]}": letters, digits, _ . - only')
    if out.get("pull_policy") and not _PULL_POLICY.match(out["pull_policy"]):
        ctx.report.error((*path, "pull_policy"), f'invalid pull policy "{out["pull_policy"]}"')
    if "image" not in out and "build" not in out and "provider" not in out:
        ctx.report.error(path, "needs an image or a build section")
    if "networks" not in out and "network_mode" not in out:
        out["networks"] = {"default": {}}
    if "networks" in out and out.get("network_mode"):
        ctx.report.error((*path, "network_mode"), "network_mode and networks cannot be used together")
    isolation_keys.check(out, path, ctx.report)
    if not hook and raw.get("pre_start") is not None and len(ctx.report.errors) == errors_before:
        out["pre_start"] = normalize_pre_start(
            name, raw, raw["pre_start"], ctx.report,
            lambda n, r, report, p: normalize_service(n, r, replace(ctx, report=report), p))
    if extensions:
        out["extensions"] = extensions
    nested = nested_extensions(raw)
    if nested:
        out["nested_extensions"] = nested
    return out


def nested_extensions(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``x-*`` keys inside a service's sub-objects (build, deploy, ports[0], networks.n…), by path.

    The sub-models drop unknown keys after reporting them, so these are set aside here and put back
    where they were by ``config``. A path is JSON: object keys as strings, list items as
    ``[index, length]`` so that a list the normalizer expanded (a port range) is not misplaced.
    """
    import json

    found: dict[str, dict[str, Any]] = {}

    def walk(value: Any, path: list[Any]) -> None:
        if isinstance(value, dict):
            here = {k: v for k, v in value.items() if isinstance(k, str) and k.startswith("x-")}
            if here and len(path) > 0:
                found[json.dumps(path)] = here
            for k, v in value.items():
                if not (isinstance(k, str) and k.startswith("x-")):
                    walk(v, [*path, k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, [*path, [i, len(value)]])

    for key, value in raw.items():
        if isinstance(key, str) and not key.startswith("x-"):
            walk(value, [key])
    return found


def _deploy(value: Any, path: Path_, ctx: Context) -> tuple[dict[str, Any], int | None, dict[str, Any],
                                                            dict[str, Any] | None]:
    if not isinstance(value, dict):
        raise Invalid(f"must be a mapping, not {kind(value)}")
    deploy: dict[str, Any] = {}
    replicas = None
    resources: dict[str, Any] = {}
    restart = None
    for key, item in value.items():
        if isinstance(key, str) and key.startswith("x-"):
            continue
        kpath = (*path, key)
        try:
            if key in DEPLOY_WARNED and item is not None and not (key == "mode" and item == "replicated"):
                ctx.report.warn(kpath, "Swarm scheduling is not honoured by pystack (single host)")
            if key == "replicas":
                if item is not None:
                    replicas = parse_int(item, "replicas")
            elif key == "resources":
                resources = parse_deploy_resources(item)
                reservations = (item.get("reservations") or {}) if isinstance(item, dict) else {}
                if reservations.get("devices"):
                    deploy["devices"] = reservations["devices"]
                    ctx.report.warn((*kpath, "reservations", "devices"),
                                    "accepted but not honoured by pystack yet (device requests)")
                if reservations.get("generic_resources"):
                    deploy["generic_resources"] = reservations["generic_resources"]
            elif key == "restart_policy":
                restart = parse_deploy_restart(item)
            elif key == "labels":
                deploy["labels"] = _str_map(item, "label")
            elif key in DEPLOY_KEYS:
                deploy[key] = item
            else:
                deploy[key] = item
        except Invalid as exc:
            ctx.report.error((*kpath, *exc.subpath), exc.message)
    return deploy, replicas, resources, restart


#: security_opt keys Docker knows; the value after ``=`` or ``:``.
_SECURITY_WARNED = {
    "apparmor": "AppArmor profiles are not applied by pystack yet",
    "label": "SELinux labels are not applied by pystack yet",
    "systempaths": "masked /proc and /sys paths stay masked",
    "writable-cgroups": "the cgroup filesystem stays read-only",
}


def _security_opts(opts: list[str], ctx: Context, kpath: Path_) -> list[str]:
    """Docker's ``key=value`` (or ``key:value``) options; a seccomp profile path is made absolute."""
    out, problems = [], []
    for i, opt in enumerate(opts):
        key, _, value = opt.replace("=", ":", 1).partition(":")
        if key == "no-new-privileges":
            if value not in ("", "true", "false", "1", "0"):
                problems.append(Invalid(f"no-new-privileges takes true or false, not {value!r}", (i,)))
        elif key == "seccomp":
            if not value:
                problems.append(Invalid("seccomp needs a profile file or 'unconfined'", (i,)))
            elif value != "unconfined":
                opt = f"seccomp={resolve_path(value, ctx.base, ctx.home)}"
        elif key in _SECURITY_WARNED:
            ctx.report.warn((*kpath, i), f"{opt}: accepted but not honoured ({_SECURITY_WARNED[key]})")
        else:
            problems.append(Invalid(f"unknown security option {key!r} (known: no-new-privileges, seccomp, "
                                    + ", ".join(_SECURITY_WARNED) + ")", (i,)))
        out.append(opt)
    if problems:
        raise MultiInvalid(problems)
    return out
