"""Checks that need the whole stack: references between services and to declared resources,
names and host ports that must be unique. Every problem is recorded; none stops the others."""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.spec.models.ports import published_ports
from orchestrator.spec.models.service import FileRef
from orchestrator.spec.models.stack import Stack
from orchestrator.spec.models.toplevel import FileObject
from orchestrator.spec.report import Report
from orchestrator.spec.volume_driver import UnsupportedVolume, local_mount

_REF_KEYS = {"depends_on": "depends_on", "links": "links", "volumes_from": "volumes_from",
             "network_mode": "network_mode", "ipc": "ipc", "pid": "pid"}


def check_references(stack: Stack, all_services: Iterable[str], report: Report) -> None:
    """Service references (all services, enabled or not) and declared networks/volumes/configs/secrets."""
    known = set(all_services)
    checked_volumes: set[str] = set()
    for name, svc in stack.services.items():
        base = ("services", name)
        for dep, why in svc.dependencies().items():
            if dep in known:
                if dep == name and why != "depends_on":
                    report.error((*base, why), f"service {name} refers to itself")
                continue
            if why == "depends_on" and not svc.depends_on[dep].required:
                report.warn((*base, "depends_on", dep), f"optional dependency on undefined service {dep!r}")
                continue
            path = (*base, why, dep) if why in ("depends_on", "links", "volumes_from") else (*base, why)
            report.error(path, f"refers to undefined service {dep!r}")
        if svc.network_mode is None:
            for net in svc.networks:
                if net not in stack.networks:
                    report.error((*base, "networks", net), f"network {net!r} is used but not declared")
        for i, vol in enumerate(svc.volumes):
            if vol.type == "volume" and vol.source and vol.source not in stack.volumes:
                report.error((*base, "volumes", i), f"named volume {vol.source!r} is used but not declared")
            elif vol.type == "volume" and vol.source and vol.source not in checked_volumes:
                checked_volumes.add(vol.source)
                top = stack.volumes[vol.source]
                try:
                    if not top.external:
                        local_mount(top.driver, top.driver_opts)
                except UnsupportedVolume as exc:
                    report.error(("volumes", vol.source, *exc.key), f"{exc.message} (used by service {name})")
        for i, rule in enumerate((svc.develop or {}).get("watch", [])):
            if rule.get("action") == "rebuild" and svc.build is None:
                report.error((*base, "develop", "watch", i, "action"),
                             "action rebuild needs the service to have a build section (its image is rebuilt)")
        for section, declared in (("configs", stack.configs), ("secrets", stack.secrets)):
            for i, ref in enumerate(getattr(svc, section)):
                if ref.source not in declared:
                    report.error((*base, section, i), f"{section[:-1]} {ref.source!r} is used but not declared")
                else:
                    _check_file_ref(name, section, i, ref, declared[ref.source], report)


_SOURCES = {"secrets": "file: or environment:", "configs": "file:, environment: or content:"}


def _check_file_ref(service: str, section: str, i: int, ref: FileRef, obj: FileObject, report: Report) -> None:
    """What pystack cannot mount: an external secret or config (it keeps no store of them, and
    mounting nothing would fail the service later, obscurely), or ids that are not numbers."""
    if obj.external:
        report.error((section, ref.source, "external"),
                     f"external {section} are not supported (used by service {service}): pystack keeps no "
                     f"{section[:-1]} store to look {obj.name!r} up in; give it a {_SOURCES[section]} source")
    for key in ("uid", "gid"):
        value = getattr(ref, key)
        if value not in (None, "") and not str(value).isdigit():
            report.error(("services", service, section, i, key), f"{key} {value!r} must be a number")
    if ref.mode is not None and not 0 <= ref.mode <= 0o7777:
        report.error(("services", service, section, i, "mode"), f"mode {ref.mode:o} is not a file mode (0 to 7777)")


def check_unique(stack: Stack, report: Report) -> None:
    """Container names and host ports among the services that will run together."""
    names: dict[str, str] = {}
    ports: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for name, svc in stack.services.items():
        base = ("services", name)
        if svc.container_name:
            if svc.scale > 1:
                report.error((*base, "container_name"),
                             f"container_name {svc.container_name!r} cannot be used with scale {svc.scale}")
            other = names.setdefault(svc.container_name, name)
            if other != name:
                report.error((*base, "container_name"),
                             f"container name {svc.container_name!r} is already used by service {other}")
        if svc.scale == 0:
            continue  # runs no container, so publishes nothing (Compose accepts such a twin of a service)
        for i, port in enumerate(svc.ports):
            host_ports = published_ports(port)
            if len(host_ports) != 1:
                continue  # no fixed port, or Docker picks one from a range
            number = host_ports[0]
            ip = _ANY if port.host_ip in (None, "", "0.0.0.0", "::") else str(port.host_ip)
            taken = ports.setdefault((port.protocol, number), [])
            owner = next((o for o_ip, o in taken if _ANY in (o_ip, ip) or o_ip == ip), None)
            if owner is not None:
                where = "" if ip == _ANY else f" on {ip}"
                report.error((*base, "ports", i),
                             f"host port {number}/{port.protocol}{where} is already published by service {owner}")
            taken.append((ip, name))


_ANY = "*"
