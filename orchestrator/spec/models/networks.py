"""Networks: the top-level declarations (names resolved per project) and a service's attachments."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orchestrator.spec.models.base import Model
from orchestrator.spec.models.units import Invalid, drop_x, kind, list_or_dict, parse_bool, parse_int, string_list


class IPAMPool(Model):
    subnet: str | None = None
    gateway: str | None = None
    ip_range: str | None = None
    aux_addresses: dict[str, str] = Field(default_factory=dict)


class IPAM(Model):
    driver: str | None = None
    config: list[IPAMPool] = Field(default_factory=list)
    options: dict[str, str] = Field(default_factory=dict)


class NetworkConfig(Model):
    name: str
    driver: str | None = None
    driver_opts: dict[str, str] = Field(default_factory=dict)
    ipam: IPAM = Field(default_factory=IPAM)
    internal: bool = False
    external: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    enable_ipv4: bool = True
    enable_ipv6: bool = False
    attachable: bool = False
    extensions: dict[str, Any] = Field(default_factory=dict)


class ServiceNetwork(Model):
    aliases: list[str] = Field(default_factory=list)
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: list[str] = Field(default_factory=list)
    mac_address: str | None = None
    priority: int = 0
    gw_priority: int = 0
    driver_opts: dict[str, str] = Field(default_factory=dict)
    interface_name: str | None = None


def _str_map(value: Any, what: str) -> dict[str, str]:
    return {k: ("" if v is None else v) for k, v in list_or_dict(value, what).items()}


def normalize_network(key: str, value: Any, project: str) -> dict[str, Any]:
    """Fill the resolved name the way Compose does: ``<project>_<key>`` unless named or external."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise Invalid(f"must be a mapping, not {kind(value)}")
    out = dict(value)
    external = value.get("external", False)
    if isinstance(external, dict):  # legacy ``external: {name: x}``
        out["external"] = True
        if external.get("name"):
            out.setdefault("name", external["name"])
        external = True
    else:
        external = parse_bool(external)
        out["external"] = external
    name = out.get("name")
    out["name"] = str(name) if name else (key if external else f"{project}_{key}")
    for flag in ("internal", "enable_ipv4", "enable_ipv6", "attachable"):
        if flag in value:
            out[flag] = parse_bool(value[flag])
    for mapping in ("driver_opts", "labels"):
        if mapping in value:
            out[mapping] = _str_map(value[mapping], mapping)
    ipam = value.get("ipam")
    if ipam is not None:
        if not isinstance(ipam, dict):
            raise Invalid(f"must be a mapping, not {kind(ipam)}", ("ipam",))
        out["ipam"] = drop_x(ipam)
        if isinstance(ipam.get("config"), list):
            out["ipam"]["config"] = [drop_x(c) if isinstance(c, dict) else c for c in ipam["config"]]
    return out


def normalize_service_networks(value: Any) -> dict[str, dict[str, Any]]:
    """``[a, b]`` or ``{a: null}`` → ``{a: {...defaults}}``; aliases and addresses kept."""
    if isinstance(value, list):
        return {name: {} for name in string_list(value, "network")}
    if not isinstance(value, dict):
        raise Invalid(f"must be a list or a mapping, not {kind(value)}")
    out: dict[str, dict[str, Any]] = {}
    for name, item in value.items():
        if item is None:
            out[name] = {}
            continue
        if not isinstance(item, dict):
            raise Invalid(f"must be a mapping or null, not {kind(item)}", (name,))
        entry = drop_x(item)
        for key in ("aliases", "link_local_ips"):
            if key in item:
                try:
                    entry[key] = string_list(item[key], key)
                except Invalid as exc:
                    raise Invalid(exc.message, (name, key, *exc.subpath)) from None
        for key in ("priority", "gw_priority"):
            if key in item:
                try:
                    entry[key] = parse_int(item[key], key)
                except Invalid as exc:
                    raise Invalid(exc.message, (name, key)) from None
        if "driver_opts" in item:
            entry["driver_opts"] = _str_map(item["driver_opts"], "driver_opts")
        out[name] = entry
    return out
