"""What remains of ``deploy`` once replicas, resources and restart_policy moved to their own models.

The rest is Swarm scheduling that a single-host engine cannot honour; it is kept (and warned about)
so ``config`` shows it and the hash sees it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from orchestrator.spec.models.base import Model


class DeviceRequest(Model):
    capabilities: list[str] = Field(default_factory=list)
    driver: str | None = None
    count: int | Literal["all"] | None = None
    device_ids: list[str] = Field(default_factory=list)
    options: dict[str, str] = Field(default_factory=dict)


class DeployConfig(Model):
    mode: str | None = None
    endpoint_mode: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    placement: dict[str, Any] | None = None
    update_config: dict[str, Any] | None = None
    rollback_config: dict[str, Any] | None = None
    devices: list[DeviceRequest] = Field(default_factory=list)
    generic_resources: list[dict[str, Any]] = Field(default_factory=list)


DEPLOY_KEYS = {"mode", "replicas", "endpoint_mode", "labels", "placement", "update_config",
               "rollback_config", "resources", "restart_policy"}
# keys of deploy that a single host cannot honour: loading them warns
DEPLOY_WARNED = {"mode", "endpoint_mode", "placement", "update_config", "rollback_config"}
