"""The whole normalized stack: services plus the networks, volumes, configs and secrets they use."""

# ruff: noqa: RUF012  (pydantic copies mutable defaults per instance)
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from orchestrator.spec.models.base import Model
from orchestrator.spec.models.networks import NetworkConfig
from orchestrator.spec.models.service import Service
from orchestrator.spec.models.toplevel import FileObject, VolumeConfig


class Stack(Model):
    name: str
    services: dict[str, Service] = {}
    networks: dict[str, NetworkConfig] = {}
    volumes: dict[str, VolumeConfig] = {}
    configs: dict[str, FileObject] = {}
    secrets: dict[str, FileObject] = {}
    working_dir: Path
    environment: dict[str, str] = Field(default_factory=dict, repr=False)
    warnings: list[str] = []
    disabled_services: dict[str, Service] = Field(default_factory=dict, repr=False)
    extensions: dict[str, Any] = Field(default_factory=dict)

    def service(self, name: str) -> Service:
        return self.services[name]
