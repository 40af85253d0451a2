"""``extra_hosts`` in its three spellings → ``[(host, ip)]`` in file order."""


from __future__ import annotations

from typing import Any

from orchestrator.spec.models.units import Invalid, kind, scalar_str


def _ip(text: str) -> str:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        return text[1:-1]
    return text


def parse_extra_hosts(value: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for host, ip in value.items():
            ips = ip if isinstance(ip, list) else [ip]
            for one in ips:
                if one is None:
                    raise Invalid(f"extra host {host} needs an IP address", (host,))
                out.append((str(host), _ip(scalar_str(one))))
        return out
    if not isinstance(value, list):
        raise Invalid(f"must be a list or a mapping, not {kind(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise Invalid(f'invalid extra host {item!r}: must be "HOST:IP" or "HOST=IP"', (i,))
        if "=" in item:
            host, _, ip = item.partition("=")
        else:
            host, _, ip = item.partition(":")
        if not host or not ip:
            raise Invalid(f'invalid extra host "{item}": must be "HOST:IP" or "HOST=IP"', (i,))
        out.append((host, _ip(ip)))
    return out
