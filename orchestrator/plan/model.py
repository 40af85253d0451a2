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
    """A ``depends_on`` entry as the planner orders by: which service, and what it must reach first."""
    service: str
    condition: str = "service_started"
    required: bool = True
    restart: bool = False


@dataclass(frozen=True)
class DesiredService:
    """A service as the file wants it, reduced to what the planner compares: its config hash and scale."""
    name: str
    config_hash: str
    scale: int = 1
    depends_on: tuple[Dependency, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ObservedContainer:
    """A container as the state database has it, reduced to what the planner compares against the file."""
    id: str
    name: str
    service: str
    number: int
    config_hash: str
    status: str  # creating, created, running, paused, exited, removing
    spec: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Action:
    """One step of a plan, with the reason that ``up --dry-run`` prints before anything is done."""
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
    """The actions that make a project equal to its file, with the order their services start in."""
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
