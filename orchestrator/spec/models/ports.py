"""Published ports: Compose's short syntax ``[IP:][HOST:]CONTAINER[/PROTO]`` and long form, one entry per port."""


from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from orchestrator.spec.models.base import Model
from orchestrator.spec.models.units import Invalid, MultiInvalid, drop_x, kind, parse_int, scalar_str


class PortConfig(Model):
    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: Literal["tcp", "udp"] = "tcp"
    mode: Literal["host", "ingress"] = "ingress"
    name: str | None = None
    app_protocol: str | None = None


_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def _port_range(text: str, raw: str, what: str) -> tuple[int, int]:
    match = _RANGE.match(text)
    if not match:
        raise Invalid(f'invalid port "{raw}": {what} port must be a number')
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else start
    for port in (start, end):
        if not 0 < port <= 65535 and not (what == "host" and port == 0):
            raise Invalid(f'invalid port "{raw}": {what} port {port} out of range 1-65535')
    if end < start:
        raise Invalid(f'invalid port "{raw}": {what} port range {start}-{end} is reversed')
    return start, end


def _check_ip(ip: str, raw: str) -> str:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise Invalid(f'invalid port "{raw}": host IP "{ip}" is not an IP address') from None
    return ip


def _split_short(raw: str) -> tuple[str | None, str | None, str]:
    """Split ``ip:host:container`` allowing ``[v6]`` and bare IPv6 addresses as Docker does."""
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0 or raw[end + 1 : end + 2] != ":":
            raise Invalid(f'invalid port "{raw}": unterminated IPv6 address')
        ip = _check_ip(raw[1:end], raw)
        rest = raw[end + 2 :].split(":")
        if len(rest) == 1:
            return ip, None, rest[0]
        if len(rest) == 2:
            return ip, rest[0], rest[1]
        raise Invalid(f'invalid port "{raw}": too many colons')
    parts = raw.split(":")
    if len(parts) == 1:
        return None, None, parts[0]
    if len(parts) == 2:
        return None, parts[0], parts[1]
    if len(parts) == 3:
        return (_check_ip(parts[0], raw) if parts[0] else None), parts[1], parts[2]
    # bare IPv6: the last two fields are host and container ports
    ip = ":".join(parts[:-2])
    return _check_ip(ip, raw), parts[-2], parts[-1]


def parse_port_short(value: Any) -> list[dict[str, Any]]:
    """One long-form mapping per container port (ranges expanded), as Compose's ``config`` prints."""
    if isinstance(value, bool):
        raise Invalid(f"invalid port {value!r}")
    if isinstance(value, int):
        raw = str(value)
    elif isinstance(value, str):
        raw = value.strip()
    elif isinstance(value, float):
        raise Invalid(f"invalid port {value!r}: a port number must be a whole number")
    else:
        raise Invalid(f"invalid port: must be a number, a string or a mapping, not {kind(value)}")
    body, _, proto = raw.partition("/")
    protocol = proto.lower() if proto else "tcp"
    if protocol not in ("tcp", "udp"):
        raise Invalid(f'invalid port "{raw}": protocol must be tcp or udp')
    ip, host, container = _split_short(body)
    c_start, c_end = _port_range(container, raw, "container")
    base: dict[str, Any] = {"protocol": protocol, "mode": "ingress"}
    if ip:
        base["host_ip"] = ip
    if host is None or host == "":
        return [{**base, "target": p} for p in range(c_start, c_end + 1)]
    h_start, h_end = _port_range(host, raw, "host")
    count = c_end - c_start
    if count == 0:
        published = str(h_start) if h_start == h_end else f"{h_start}-{h_end}"
        return [{**base, "target": c_start, "published": published}]
    if h_end - h_start != count:
        raise Invalid(f'invalid port "{raw}": host and container port ranges have different sizes')
    return [{**base, "target": c_start + i, "published": str(h_start + i)} for i in range(count + 1)]


_LONG_KEYS = {"target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"}


def parse_port_long(value: dict[str, Any]) -> list[dict[str, Any]]:
    value = drop_x(value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in _LONG_KEYS:
            out[key] = item  # left for the model to reject with its position
    if "target" not in value:
        raise Invalid("port mapping needs a target", ("target",))
    target = parse_int(value["target"], "target port")
    if not 0 < target <= 65535:
        raise Invalid(f"invalid target port {target}: out of range 1-65535", ("target",))
    out["target"] = target
    if value.get("published") is not None:
        text = scalar_str(value["published"], "published port")
        start, end = _port_range(text, text, "host")
        out["published"] = str(start) if start == end else f"{start}-{end}"
    if value.get("host_ip") is not None:
        out["host_ip"] = _check_ip(scalar_str(value["host_ip"]), str(value["host_ip"]))
    proto = value.get("protocol")
    out["protocol"] = "tcp" if proto is None else str(proto).lower()
    out["mode"] = value.get("mode") or "ingress"
    for key in ("name", "app_protocol"):
        if value.get(key) is not None:
            out[key] = value[key]
    return [out]


def parse_ports(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise Invalid(f"must be a list, not {kind(value)}")
    out: list[dict[str, Any]] = []
    errors: list[Invalid] = []
    for i, item in enumerate(value):
        try:
            if isinstance(item, dict):
                out.extend(parse_port_long(item))
            else:
                out.extend(parse_port_short(item))
        except Invalid as exc:
            errors.append(Invalid(exc.message, (i, *exc.subpath)))
    if errors:
        raise MultiInvalid(errors)
    return out


def published_ports(port: PortConfig) -> range:
    """The host ports an entry occupies (empty when Docker picks one)."""
    if port.published is None:
        return range(0)
    start, _, end = port.published.partition("-")
    return range(int(start), int(end or start) + 1)
