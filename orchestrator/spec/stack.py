"""``load_stack``: a stack file (or several) → a validated, normalized :class:`Stack`, or every error.

Steps: the loader (YAML with positions, merge, extends, include, interpolation) → normalization
of short syntax → pydantic models, one service at a time so each error keeps its place → profiles
→ cross-references, unique names and ports, dependency cycles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from orchestrator.errors import SpecError, SpecErrors
from orchestrator.spec.cycles import find_cycle
from orchestrator.spec.model_errors import report_validation_error
from orchestrator.spec.models.networks import NetworkConfig
from orchestrator.spec.models.service import Service
from orchestrator.spec.models.stack import Stack
from orchestrator.spec.models.toplevel import FileObject, VolumeConfig
from orchestrator.spec.normalize import normalize_stack
from orchestrator.spec.normalize_service import Context, EnvReader, Lookup
from orchestrator.spec.report import PositionLookup, Report
from orchestrator.spec.validate import check_references, check_unique

if TYPE_CHECKING:
    from orchestrator.spec.project import LoadedProject, LoadOptions

__all__ = ["Stack", "build_stack", "load_stack"]


def load_stack(opts: LoadOptions, *, targets: Sequence[str] = (), consistency: bool = True) -> Stack:
    """Load, normalize and validate; profiles applied (Compose's rules), ``targets`` enabled with their needs."""
    from orchestrator.spec.project import load_project

    return stack_of(load_project(opts), opts, targets=targets, consistency=consistency)


def stack_of(loaded: LoadedProject, opts: LoadOptions, *, targets: Sequence[str] = (),
             consistency: bool = True) -> Stack:
    """The Stack of a loaded project (what :func:`load_stack` makes of it)."""
    stack = build_stack(
        loaded.data,
        project=loaded.name,
        working_dir=Path(loaded.working_dir),
        positions=loaded.positions,
        environment=loaded.environment,
        profiles=loaded.profiles,
        targets=targets,
        warnings=loaded.warnings,
        read_env_file=_env_reader(interpolate=getattr(opts, "interpolate", True)),
        service_environments=loaded.service_environments,
        consistency=consistency,
    )
    return stack.model_copy(update={"config_files": [str(p) for p in loaded.config_files]})


def _env_reader(*, interpolate: bool = True) -> EnvReader:
    """Reads a service's env file; the caller's lookup answers ``${VAR}`` unless interpolation is off.

    ``format: raw`` files are taken verbatim, so they get no lookup either."""
    from orchestrator.spec import dotenv

    def read(path: str, required: bool, fmt: str | None, lookup: Lookup) -> dict[str, str]:
        use = lookup if interpolate and fmt != "raw" else None
        return dotenv.read_env_file(Path(path), required=required, lookup=use, format=fmt)

    return read


def build_stack(
    data: Any,
    *,
    project: str,
    working_dir: Path,
    positions: PositionLookup | None = None,
    environment: Mapping[str, str] | None = None,
    profiles: Iterable[str] = (),
    targets: Sequence[str] = (),
    warnings: Iterable[str] = (),
    read_env_file: EnvReader | None = None,
    service_environments: Mapping[str, Mapping[str, str]] | None = None,
    consistency: bool = True,
) -> Stack:
    """The pure part of :func:`load_stack`: loaded data (plain dicts) → Stack, or SpecErrors.

    Without ``consistency`` (``config --no-consistency``) what the services refer to is not checked
    (undeclared networks, volumes, secrets and configs, unknown dependencies, duplicate names,
    dependency cycles): each definition is still validated on its own."""
    report = Report(positions)
    report.warnings.extend(warnings)
    env = dict(environment or {})
    ctx = Context(project=project, base=str(working_dir), report=report, environment=env,
                  read_env_file=read_env_file, service_environments=service_environments or {})
    normalized = normalize_stack(data, ctx)

    services: dict[str, Service] = {}
    for name, raw in normalized.get("services", {}).items():
        try:
            services[name] = Service.model_validate(raw)
        except ValidationError as exc:
            report_validation_error(exc, raw, ("services", name), report)
        for i, hook in enumerate(raw.get("pre_start") or []):  # each the service its runner is made from
            if "service" not in hook:
                continue  # not valid, already reported
            try:
                Service.model_validate(hook["service"])
            except ValidationError as exc:
                report_validation_error(exc, hook["service"], ("services", name, "pre_start", i), report)
    sections: dict[str, dict[str, Any]] = {}
    for section, model in (("networks", NetworkConfig), ("volumes", VolumeConfig),
                           ("configs", FileObject), ("secrets", FileObject)):
        items: dict[str, Any] = {}
        for key, raw in normalized.get(section, {}).items():
            try:
                items[key] = model.model_validate(raw)
            except ValidationError as exc:
                report_validation_error(exc, raw, (section, key), report)
        sections[section] = items

    all_names = list(normalized.get("services", {}))
    for target in targets:
        if target not in all_names:
            report.error((), f"no such service: {target}")
    enabled = enabled_services(services, profiles, targets)
    stack = Stack(
        name=project,
        services={n: s for n, s in services.items() if n in enabled},
        disabled_services={n: s for n, s in services.items() if n not in enabled},
        working_dir=working_dir,
        environment=env,
        warnings=report.warnings,
        extensions=normalized.get("extensions", {}),
        networks=sections["networks"], volumes=sections["volumes"], configs=sections["configs"],
        secrets=sections["secrets"],
    )
    if consistency:
        check_references(stack, all_names, report)
        check_unique(stack, report)
        if not report.errors:
            _check_cycles(stack, report)
    report.raise_if_errors()
    if stack.warnings != report.warnings:
        stack = stack.model_copy(update={"warnings": list(report.warnings)})
    return stack


def enabled_services(services: Mapping[str, Service], profiles: Iterable[str], targets: Sequence[str]) -> set[str]:
    """Compose's profile rules: no profiles, an active profile or targeted; then what those need.

    A targeted service's profiles become active. A dependency marked ``required: false`` is not
    pulled in when its profile is off."""
    active = set(profiles)
    for target in targets:
        if target in services:
            active.update(services[target].profiles)
    everything = "*" in active
    enabled = {
        name for name, svc in services.items()
        if everything or not svc.profiles or active & set(svc.profiles) or name in targets
    }
    queue = list(enabled)
    while queue:
        svc = services[queue.pop()]
        for dep, why in svc.dependencies().items():
            if dep in enabled or dep not in services:
                continue
            if why == "depends_on" and not svc.depends_on[dep].required:
                continue
            enabled.add(dep)
            queue.append(dep)
    return enabled


def _check_cycles(stack: Stack, report: Report) -> None:
    deps = {name: list(svc.dependencies()) for name, svc in stack.services.items()}
    for name, svc in stack.services.items():
        if name in svc.depends_on:
            report.error(("services", name, "depends_on"), f"service {name!r} depends on itself")
            deps[name].remove(name)
    cycle = find_cycle(deps)
    if cycle:
        why = stack.services[cycle[0]].dependencies()[cycle[1]]
        report.error(("services", cycle[0], why), "dependency cycle detected: " + " -> ".join(cycle))


def raise_one(message: str) -> SpecErrors:
    return SpecErrors([SpecError(message)])
