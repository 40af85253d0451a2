"""What remains of ``deploy`` once replicas, resources and restart_policy moved to their own models.

The rest is Swarm scheduling that a single-host engine cannot honour; it is kept (and warned about)
so ``config`` shows it and the hash sees it.
"""

# ruff: noqa: RUF012  (pydantic copies mutable defaults per instance)
from __future__ import annotations

from typing import Any, Literal

from orchestrator.spec.models.base import Model


class DeviceRequest(Model):
    capabilities: list[str] = []
    driver: str | None = None
    count: int | Literal["all"] | None = None
    device_ids: list[str] = []
    options: dict[str, str] = {}


class DeployConfig(Model):
    mode: str | None = None
    endpoint_mode: str | None = None
    labels: dict[str, str] = {}
    placement: dict[str, Any] | None = None
    update_config: dict[str, Any] | None = None
    rollback_config: dict[str, Any] | None = None
    devices: list[DeviceRequest] = []
    generic_resources: list[dict[str, Any]] = []


DEPLOY_KEYS = {"mode", "replicas", "endpoint_mode", "labels", "placement", "update_config",
               "rollback_config", "resources", "restart_policy"}
# keys of deploy that a single host cannot honour: loading them warns
DEPLOY_WARNED = {"mode", "endpoint_mode", "placement", "update_config", "rollback_config"}
