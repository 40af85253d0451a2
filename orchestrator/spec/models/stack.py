"""The whole normalized stack: services plus the networks, volumes, configs and secrets they use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from orchestrator.spec.behaviour import StackBehaviour
from orchestrator.spec.models.base import Model
from orchestrator.spec.models.networks import NetworkConfig
from orchestrator.spec.models.service import Service
from orchestrator.spec.models.toplevel import FileObject, VolumeConfig


class Stack(Model, StackBehaviour):
    name: str
    services: dict[str, Service] = Field(default_factory=dict)
    networks: dict[str, NetworkConfig] = Field(default_factory=dict)
    volumes: dict[str, VolumeConfig] = Field(default_factory=dict)
    configs: dict[str, FileObject] = Field(default_factory=dict)
    secrets: dict[str, FileObject] = Field(default_factory=dict)
    working_dir: Path
    config_files: list[str] = Field(default_factory=list, repr=False)  # as loaded; "-" for standard input
    environment: dict[str, str] = Field(default_factory=dict, repr=False)
    warnings: list[str] = Field(default_factory=list)
    disabled_services: dict[str, Service] = Field(default_factory=dict, repr=False)
    extensions: dict[str, Any] = Field(default_factory=dict)
