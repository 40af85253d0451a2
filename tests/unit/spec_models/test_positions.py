"""Errors through the real loader: file:line:col: key: message, every error at once, exit code 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import load_errors, load_file, write


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # file names in messages are shown relative to the working directory
    yield


BAD = """\
services:
  api:
    image: nginx
    ports:
      - "8080:80"
      - "80:abc"
    imagee: oops
    mem_limit: lots
    depends_on: [ghost]
  db:
    image: postgres
    healthcheck:
      test: pg_isready
      interval: soon
"""


def test_every_error_located(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    lines = load_errors(path)
    name = path.name
    assert f'{name}:6:9: services.api.ports[1]: invalid port "80:abc": container port must be a number' in lines
    assert f"{name}:7:5: services.api.imagee: unknown key (did you mean 'image'?)" in lines
    assert any(line.startswith(f'{name}:8:16: services.api.mem_limit: invalid size "lots"') for line in lines)
    assert any(line.startswith(f"{name}:14:17: services.db.healthcheck.interval: invalid duration") for line in lines)
    assert len(lines) == 4  # the unknown dependency is not checked while api itself is invalid


def test_cross_reference_located(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  api:\n    image: x\n    depends_on: [ghost]\n")
    [line] = load_errors(path)
    assert line.startswith(f"{path.name}:4:") and line.endswith("services.api.depends_on.ghost: refers to undefined "
                                                                "service 'ghost'")


def test_warning_located(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  api:\n    image: x\n    gpus: all\n")
    stack = load_file(path)
    assert stack.warnings[0].startswith(f"{path.name}:4:") and "services.api.gpus" in stack.warnings[0]


def test_a_secret_driver_warning_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  api:\n    image: x\nsecrets:\n  tok:\n    environment: TOK\n"
                           "    driver: vault\nconfigs:\n  c:\n    content: x\n    template_driver: golang\n")
    warnings = load_file(path).warnings
    assert sorted(w.split(": ")[0:2] for w in warnings) == [[f"{path.name}:11:22", "configs.c.template_driver"],
                                                             [f"{path.name}:7:13", "secrets.tok.driver"]]


def test_interpolated_values_normalized(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  api:\n    image: x\n    mem_limit: ${MEM:-64m}\n"
                           "    ports: [\"${PORT}:80\"]\n    privileged: ${PRIV:-false}\n")
    svc = load_file(path, environ={"PORT": "9000"}).services["api"]
    assert (svc.resources.memory_limit, svc.ports[0].published, svc.privileged) == (64 * 1024**2, "9000", False)


def test_each_list_item_is_located_at_its_own_place(tmp_path: Path) -> None:
    path = write(tmp_path, """\
services:
  a:
    image: x
    depends_on: [b, nope1, nope2]
    links:
      - b
      - nope3:alias
    networks:
      - default
      - nonet
    volumes_from: [b, ghost:ro]
  b:
    image: x
""")
    assert load_errors(path) == [
        "compose.yaml:4:21: services.a.depends_on.nope1: refers to undefined service 'nope1'",
        "compose.yaml:4:28: services.a.depends_on.nope2: refers to undefined service 'nope2'",
        "compose.yaml:7:9: services.a.links.nope3: refers to undefined service 'nope3'",
        "compose.yaml:10:9: services.a.networks.nonet: network 'nonet' is used but not declared",
        "compose.yaml:11:23: services.a.volumes_from.ghost: refers to undefined service 'ghost'",
    ]


def test_a_fractional_port_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  a:\n    image: x\n    ports: [80.5, [80]]\n")
    assert load_errors(path) == [
        "compose.yaml:4:13: services.a.ports[0]: invalid port 80.5: a port number must be a whole number",
        "compose.yaml:4:19: services.a.ports[1]: invalid port: must be a number, a string or a mapping, not a list",
    ]
