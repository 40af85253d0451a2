"""``alpha generate``'s pure part: recorded services and definitions back to one Compose document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli.generate_render import Found, generate
from orchestrator.errors import PystackError
from orchestrator.reconcile.translate import service_plan
from orchestrator.spec import definitions
from orchestrator.spec.records import to_records
from orchestrator.spec.stack import build_stack

RAW = {
    "services": {
        "web": {"image": "busybox", "volumes": ["data:/d", "named:/n"], "networks": ["back", "default"],
                "secrets": ["s"], "configs": ["c"], "depends_on": ["db"], "links": ["db:database"],
                "stop_grace_period": "1m30s", "healthcheck": {"test": ["CMD", "true"], "interval": "2s"}},
        "db": {"image": "busybox", "networks": ["back"]},
        "side": {"image": "busybox", "network_mode": "service:web", "volumes_from": ["db:ro"]},
    },
    "volumes": {"data": {}, "named": {"name": "shared-vol", "driver_opts": {"type": "tmpfs", "device": "tmpfs"}}},
    "networks": {"back": {"internal": True, "ipam": {"config": [{"subnet": "10.9.0.0/24"}]}, "x-a": 1}},
    "secrets": {"s": {"file": "./s.txt"}},
    "configs": {"c": {"content": "hello"}},
}


def _found(project: str = "p", only: tuple[str, ...] = ()) -> list[Found]:
    stack = build_stack(RAW, project=project, working_dir=Path("/srv/p"))
    out = []
    for name, svc in stack.services.items():
        if only and name not in only:
            continue
        sp = service_plan(stack, svc)
        spec: dict[str, Any] = {"service": sp.spec, "run": {}, "definitions": sp.definitions}
        out.append(Found(f"{project}-{name}-1", project, name, False, "busybox", spec))
    return out


def test_definitions_are_the_same_from_models_and_cached_records() -> None:
    stack = build_stack(RAW, project="p", working_dir=Path("/srv/p"))
    used = definitions.used_by(stack.services["web"], stack)
    assert used == definitions.used_by(to_records(stack).services["web"], to_records(stack))
    assert used["volumes"] == {"data": {}, "named": {"name": "shared-vol",
                                                     "driver_opts": {"type": "tmpfs", "device": "tmpfs"}}}
    assert used["networks"]["back"] == {"internal": True, "ipam": {"config": [{"subnet": "10.9.0.0/24"}]}, "x-a": 1}
    assert used["secrets"] == {"s": {"file": "/srv/p/s.txt"}} and used["configs"] == {"c": {}}  # no content kept


def test_the_whole_stack_comes_back_with_its_definitions() -> None:
    doc, warnings = generate(_found(), "again")
    assert warnings == ["config 'c' of p-web-1: its content is not kept with the container; add it under "
                        "top-level configs"]
    assert list(doc) == ["name", "services", "networks", "volumes", "secrets"]
    web = doc["services"]["web"]
    assert web["stop_grace_period"] == "1m30s" and web["healthcheck"] == {"test": ["CMD", "true"], "interval": "2s"}
    assert web["links"] == ["db:database"] and list(web["depends_on"]) == ["db"]
    assert doc["services"]["side"]["network_mode"] == "service:web"
    assert "networks" not in doc["services"]["side"]  # the default network alone says nothing
    assert doc["networks"]["back"]["internal"] is True and "default" not in doc["networks"]


def test_references_to_services_left_out_are_dropped_with_a_warning() -> None:
    doc, warnings = generate(_found(only=("web", "side")), None)
    assert "name" not in doc
    assert sorted(warnings) == [
        "config 'c' of p-web-1: its content is not kept with the container; add it under top-level configs",
        "service 'side': volumes_from db dropped: no container of it was chosen",
        "service 'web': depends_on db dropped: no container of it was chosen",
        "service 'web': link db dropped: no container of it was chosen",
    ]
    assert "depends_on" not in doc["services"]["web"] and "links" not in doc["services"]["web"]
    assert doc["services"]["side"]["network_mode"] == "service:web"


def test_replicas_make_scale_and_one_offs_do_not() -> None:
    base = _found(only=("db",))[0]
    replicas = [base, Found("p-db-2", "p", "db", False, "busybox", base.spec),
                Found("p-db-run-1", "p", "db", True, "busybox", base.spec)]
    doc, _ = generate(replicas, None)
    assert doc["services"]["db"]["scale"] == 2


def test_same_service_of_two_projects_is_renamed_and_a_clashing_definition_refused() -> None:
    doc, _ = generate([*_found("p", ("db",)), *_found("q", ("db",))], None)
    assert sorted(doc["services"]) == ["db", "q-db"]
    other = {**RAW, "networks": {"back": {"internal": False}}}
    stack = build_stack(other, project="q", working_dir=Path("/srv/q"))
    sp = service_plan(stack, stack.services["db"])
    clash = Found("q-db-1", "q", "db", False, "busybox", {"service": sp.spec, "definitions": sp.definitions})
    with pytest.raises(PystackError, match="define network 'back' differently"):
        generate([*_found("p", ("db",)), clash], None)
