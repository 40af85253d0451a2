"""A service in its normalized (long) form: what every later stage reads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_serializer, field_validator

from orchestrator.spec.behaviour import ServiceBehaviour
from orchestrator.spec.models.base import Model
from orchestrator.spec.models.build import BuildConfig
from orchestrator.spec.models.deploy import DeployConfig
from orchestrator.spec.models.healthcheck import Healthcheck
from orchestrator.spec.models.networks import ServiceNetwork
from orchestrator.spec.models.ports import PortConfig
from orchestrator.spec.models.resources import Resources
from orchestrator.spec.models.restart import RestartPolicy
from orchestrator.spec.models.units import format_duration, parse_duration
from orchestrator.spec.models.volumes import ServiceVolume


class DependsOn(Model):
    condition: Literal["service_started", "service_healthy", "service_completed_successfully"] = "service_started"
    required: bool = True
    restart: bool = False


class EnvFile(Model):
    path: str
    required: bool = True
    format: str | None = None


class FileRef(Model):
    """A service's use of a config or secret."""

    source: str
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    mode: int | None = None


class DeviceMapping(Model):
    source: str
    target: str
    permissions: str = "rwm"


class Logging(Model):
    driver: str | None = None
    options: dict[str, str | None] = Field(default_factory=dict)


class Service(Model, ServiceBehaviour):
    _json: dict[str, Any] | None = PrivateAttr(default=None)  # see as_json

    name: str
    image: str | None = None
    build: BuildConfig | None = None
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str | None] = Field(default_factory=dict)
    env_file: list[EnvFile] = Field(default_factory=list)
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    container_name: str | None = None
    ports: list[PortConfig] = Field(default_factory=list)
    expose: list[str] = Field(default_factory=list)
    volumes: list[ServiceVolume] = Field(default_factory=list)
    tmpfs: list[str] = Field(default_factory=list)
    depends_on: dict[str, DependsOn] = Field(default_factory=dict)
    links: dict[str, str] = Field(default_factory=dict)
    external_links: list[str] = Field(default_factory=list)
    volumes_from: list[str] = Field(default_factory=list)
    network_mode: str | None = None
    networks: dict[str, ServiceNetwork] = Field(default_factory=dict)
    mac_address: str | None = None
    healthcheck: Healthcheck | None = None
    restart: RestartPolicy = Field(default_factory=RestartPolicy)
    resources: Resources = Field(default_factory=Resources)
    deploy: DeployConfig | None = None
    scale: int = 1
    stop_signal: str | None = None  # None: the image's STOPSIGNAL, else SIGTERM (as Docker)
    stop_grace_period: float = 10.0
    init: bool | None = None
    privileged: bool = False
    cap_add: list[str] = Field(default_factory=list)
    cap_drop: list[str] = Field(default_factory=list)
    security_opt: list[str] = Field(default_factory=list)
    read_only: bool = False
    sysctls: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    label_file: list[str] = Field(default_factory=list)
    annotations: dict[str, str] = Field(default_factory=dict)
    extra_hosts: list[tuple[str, str]] = Field(default_factory=list)
    dns: list[str] = Field(default_factory=list)
    dns_search: list[str] = Field(default_factory=list)
    dns_opt: list[str] = Field(default_factory=list)
    profiles: list[str] = Field(default_factory=list)
    runtime: str | None = None
    platform: str | None = None
    pull_policy: str | None = None
    logging: Logging | None = None
    stdin_open: bool = False
    tty: bool = False
    attach: bool = True
    userns_mode: str | None = None
    ipc: str | None = None
    pid: str | None = None
    uts: str | None = None
    cgroup: Literal["host", "private"] | None = None
    cgroup_parent: str | None = None
    devices: list[DeviceMapping] = Field(default_factory=list)
    device_cgroup_rules: list[str] = Field(default_factory=list)
    group_add: list[str] = Field(default_factory=list)
    configs: list[FileRef] = Field(default_factory=list)
    secrets: list[FileRef] = Field(default_factory=list)
    # accepted but not honoured yet (see support.py): kept so `config` shows them and the hash sees them
    isolation: str | None = None
    credential_spec: dict[str, Any] | None = None
    develop: dict[str, Any] | None = None
    gpus: Any = None
    models: Any = None
    provider: dict[str, Any] | None = None
    post_start: list[dict[str, Any]] = Field(default_factory=list)
    pre_start: list[dict[str, Any]] = Field(default_factory=list)
    pre_stop: list[dict[str, Any]] = Field(default_factory=list)
    storage_opt: dict[str, Any] = Field(default_factory=dict)
    use_api_socket: bool = False
    pull_refresh_after: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)
    nested_extensions: dict[str, dict[str, Any]] = Field(default_factory=dict)  # x-* below a key, by JSON path

    @field_validator("stop_grace_period", mode="before")
    @classmethod
    def _read_durations(cls, value: Any) -> Any:
        """A duration as the JSON form writes it ("1m30s"): a dumped model validates back."""
        return parse_duration(value) if isinstance(value, str) else value

    @field_serializer("stop_grace_period")
    def _grace(self, value: float) -> str:
        return format_duration(value)

    def __eq__(self, other: object) -> bool:
        """Equal fields make equal services, whether or not either has made its JSON form yet."""
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Service)
        return self.__dict__ == other.__dict__ and self.__pydantic_extra__ == other.__pydantic_extra__
