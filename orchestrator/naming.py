"""The names pystack gives what it makes for a service: containers, one-off containers, built images.

Compose v2 joins the parts with ``-`` (``shop-web-1``); Compose v1 joined them with ``_``
(``shop_web_1``), and ``--compatibility`` (or ``COMPOSE_COMPATIBILITY``) brings that back for
scripts that still look for such names. One switch per command, as Compose's own. Only new
names follow it: a container keeps the name it was created with, found by its project, service
and number, never by its name.
"""

from __future__ import annotations

_separator: list[str] = ["-"]


def set_compatibility(on: bool) -> None:
    _separator[0] = "_" if on else "-"


def separator() -> str:
    return _separator[0]


def container_name(project: str, service: str, number: int) -> str:
    sep = _separator[0]
    return f"{project}{sep}{service}{sep}{number}"


def one_off_name(project: str, service: str, suffix: str) -> str:
    sep = _separator[0]
    return f"{project}{sep}{service}{sep}run{sep}{suffix}"


def image_name(project: str, service: str) -> str:
    return f"{project}{_separator[0]}{service}"
