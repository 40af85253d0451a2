"""`pystack config` output loads back to the same model, in YAML and in JSON, through the real loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from orchestrator.cli.config_cmd import render
from tests.helpers.shared import SHARED

from .helpers import load_file, write

RICH = """\
name: rt
x-common: &common
  restart: unless-stopped
services:
  web:
    <<: *common
    image: nginx:1.25
    ports: ["8080:80", "127.0.0.1:8443-8444:443-444/tcp", "[::1]:53:53/udp", 9000]
    volumes: ["./html:/usr/share/nginx/html:ro,z", "cache:/var/cache:nocopy", "/anon"]
    environment: [A=1, "DOLLAR=$$HOME", EMPTY=]
    env_file: [app.env]
    labels: {tier: front}
    depends_on: [api]
    healthcheck: {test: "curl -f localhost", interval: 1m30s, timeout: 500ms, retries: 2}
    extra_hosts: ["db:10.0.0.5", "v6=::1"]
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    x-note: kept
  api:
    build: {context: ./api, args: [V=1], target: prod}
    command: sh -c 'echo "hi"; sleep 10'
    mem_limit: 512m
    cpus: 0.5
    deploy:
      resources: {reservations: {memory: 128m, cpus: "0.25"}}
      restart_policy: {condition: on-failure, max_attempts: 3, delay: 5s, window: 2m}
    links: ["db:database"]
    networks:
      back: {aliases: [svc], ipv4_address: 10.20.0.5}
      default:
    stop_grace_period: 1m5s
    sysctls: [net.core.somaxconn=1024]
    secrets: [token]
    configs: [{source: conf, target: /etc/conf, mode: 0440}]
    tmpfs: /run
    devices: ["/dev/fuse"]
  db:
    image: postgres
    scale: 1
    blkio_config: {weight: 300, device_read_bps: [{path: /dev/sda, rate: 10mb}]}
    healthcheck: {disable: true}
networks:
  back:
    ipam: {config: [{subnet: 10.20.0.0/24, gateway: 10.20.0.1}]}
    labels: [a=b]
volumes:
  cache: {driver: local, x-vol: 1}
secrets:
  token: {file: ./token.txt}
configs:
  conf: {content: "hello"}
"""


@pytest.fixture
def rich(tmp_path: Path) -> Path:
    write(tmp_path, "FROM_FILE=1\nA=overridden\n", "app.env")
    return write(tmp_path, RICH)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_round_trip(rich: Path, tmp_path: Path, fmt: str) -> None:
    first = load_file(rich)
    text = render(first, fmt=fmt)
    data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert data["services"]["web"]["environment"]["DOLLAR"] == "$$HOME"
    again_path = write(tmp_path, text, f"again.{fmt}")
    second = load_file(again_path)
    assert second.services == first.services
    assert second.networks == first.networks and second.volumes == first.volumes
    assert second.configs == first.configs and second.secrets == first.secrets
    assert second.extensions == first.extensions
    # and a third time gives byte-identical output
    assert render(second, fmt=fmt) == text


def test_normalized_content(rich: Path) -> None:
    web = load_file(rich).services["web"]
    assert web.environment == {"FROM_FILE": "1", "A": "1", "DOLLAR": "$HOME", "EMPTY": ""}
    assert web.restart.condition == "unless-stopped"
    assert len(web.ports) == 5


def test_output_is_valid_for_the_compose_schema(rich: Path) -> None:
    import jsonschema

    schema = json.loads(Path(SHARED, "compose-spec/schema/compose-spec.json").read_text())
    data = yaml.safe_load(render(load_file(rich)))
    jsonschema.validate(data, schema)


def test_no_path_resolution_shows_paths_relative_to_the_project(rich: Path, tmp_path: Path) -> None:
    """``config --no-path-resolution``: what lies in the project directory is ``./…`` again, what lies
    outside stays absolute, and the text loads back to the same stack from the same directory."""
    stack = load_file(rich)
    text = render(stack, relative_to=str(stack.working_dir))
    data = yaml.safe_load(text)
    assert data["services"]["api"]["build"]["context"] == "./api"
    assert data["services"]["web"]["env_file"][0]["path"] == "./app.env"
    binds = {v["target"]: v["source"] for v in data["services"]["web"]["volumes"] if v["type"] == "bind"}
    assert binds["/usr/share/nginx/html"] == "./html"
    assert str(tmp_path) not in text
    again = load_file(write(tmp_path, text, "relative.yaml"))
    assert again.services == stack.services
