"""The plan as data: what the reconciler will do and why, printable before anything happens.

The planner sees services through :class:`DesiredService` and containers through
:class:`ObservedContainer`, plain values built by the reconciler, so planning stays a pure
function that unit tests drive without a kernel or pydantic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ActionKind = Literal["create", "recreate", "start", "remove", "stop"]


@dataclass(frozen=True)
class Dependency:
    service: str
    condition: str = "service_started"
    required: bool = True
    restart: bool = False


@dataclass(frozen=True)
class DesiredService:
    name: str
    config_hash: str
    scale: int = 1
    depends_on: tuple[Dependency, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str
    service: str
    number: int
    config_hash: str
    status: str  # creating, created, running, paused, exited, removing
    spec: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    service: str
    number: int
    reason: str
    container_id: str | None = None
    container_name: str | None = None

    def describe(self) -> str:
        target = self.container_name or f"{self.service}-{self.number}"
        return f"{self.kind} {target}: {self.reason}"


@dataclass
class Plan:
    project: str
    actions: list[Action] = field(default_factory=list)
    order: list[list[str]] = field(default_factory=list)  # start generations of the services involved
    warnings: list[str] = field(default_factory=list)

    def for_service(self, service: str) -> list[Action]:
        return [a for a in self.actions if a.service == service]

    @property
    def empty(self) -> bool:
        return not self.actions

    def describe(self) -> list[str]:
        return [a.describe() for a in self.actions]
