"""A container's ``/etc/resolv.conf``, ``/etc/hosts`` and ``/etc/hostname``, written atomically.

The files are bind-mounted into the container, so they are replaced by rename (readers never see
half a file) and stay small and plain, in the layout glibc and musl expect.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from orchestrator.errors import NetworkFailure

HOST_GATEWAY = "host-gateway"


def _write(path: str | os.PathLike[str], text: str) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    tmp.replace(p)


def render_resolv_conf(nameservers: Iterable[str], search: Iterable[str] = (), options: Iterable[str] = ()) -> str:
    lines = [f"nameserver {ns}" for ns in nameservers]
    search = [s for s in search if s]
    if search:
        lines.append("search " + " ".join(search))
    opts = [o for o in options if o]
    if opts:
        lines.append("options " + " ".join(opts))
    return "\n".join(lines) + "\n"


def write_resolv_conf(
    path: str | os.PathLike[str],
    nameservers: Iterable[str],
    search: Iterable[str] = (),
    options: Iterable[str] = (),
) -> None:
    """``dns``/``dns_search``/``dns_opt``; the nameserver is normally the network gateway (our DNS)."""
    _write(path, render_resolv_conf(nameservers, search, options))


def parse_extra_host(entry: str) -> tuple[str, str]:
    """``host:ip``, ``host=ip`` or ``host:ipv6`` (Compose's forms) → (host, ip)."""
    for sep in ("=", ":"):
        if sep in entry:
            host, _, ip = entry.partition(sep)
            host, ip = host.strip(), ip.strip().strip("[]")
            if host and ip:
                return host, ip
    raise NetworkFailure(f"extra_hosts entry {entry!r} is not of the form HOST:IP")


def render_hosts(
    hostname: str,
    ip: str | None,
    extra_hosts: Iterable[str | tuple[str, str]] = (),
    gateway: str | None = None,
    aliases: Iterable[str] = (),
) -> str:
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "ff00::0\tip6-mcastprefix",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
    ]
    for entry in extra_hosts:
        host, addr = parse_extra_host(entry) if isinstance(entry, str) else entry
        if addr == HOST_GATEWAY:
            if not gateway:
                raise NetworkFailure(f"extra_hosts {host}: host-gateway needs a network with a gateway")
            addr = gateway
        lines.append(f"{addr}\t{host}")
    if ip:
        names = " ".join(dict.fromkeys([hostname, *aliases]))
        lines.append(f"{ip}\t{names}")
    else:
        lines.append(f"127.0.1.1\t{hostname}")
    return "\n".join(lines) + "\n"


def write_hosts(
    path: str | os.PathLike[str],
    hostname: str,
    ip: str | None,
    extra_hosts: Iterable[str | tuple[str, str]] = (),
    *,
    gateway: str | None = None,
    aliases: Iterable[str] = (),
) -> None:
    """localhost, the container's own name (on its first address) and ``extra_hosts``.

    ``host-gateway`` as an address means the gateway of the container's first network, which is
    an address of the host itself, as Docker's ``host.docker.internal:host-gateway`` does.
    """
    _write(path, render_hosts(hostname, ip, extra_hosts, gateway, aliases))


def write_hostname(path: str | os.PathLike[str], hostname: str) -> None:
    _write(path, hostname + "\n")
