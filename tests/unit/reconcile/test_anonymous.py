"""Which paths get an anonymous volume, and how they are named."""

from __future__ import annotations

from pathlib import Path

from orchestrator.reconcile.anonymous import name_for, targets
from orchestrator.reconcile.desired import MountPlan
from orchestrator.state.containers import ContainerRecord


def m(type_: str, target: str, source: str | None = None) -> MountPlan:
    return MountPlan(type=type_, source=source, target=target)


def rec(number: int = 1, one_off: bool = False, service: str = "db") -> ContainerRecord:
    return ContainerRecord(id="c", name="n", project="p", service=service, number=number, config_hash="h",
                           status="creating", one_off=one_off)


def test_the_services_own_then_image_volumes_nothing_else_is_mounted_at() -> None:
    mounts = [m("volume", "/data"), m("bind", "/etc/app", "/srv/app"), m("volume", "/named", "vol"),
              m("tmpfs", "/tmp")]
    image = ["/var/lib/db/", "/etc/app", "/tmp", "/named", "/data", "/cache", "/"]
    assert targets(mounts, image) == ["/data", "/cache", "/var/lib/db"]


def test_a_replica_keeps_its_names_and_one_offs_get_their_own() -> None:
    assert name_for(rec(), "/data") == name_for(rec(), "/data/")  # the same path, spelled otherwise
    assert len({name_for(rec(), "/data"), name_for(rec(2), "/data"), name_for(rec(service="x"), "/data"),
                name_for(rec(), "/other")}) == 4
    assert name_for(rec(one_off=True), "/data") != name_for(rec(one_off=True), "/data")


def test_a_container_without_anonymous_volumes_writes_no_record(tmp_path: Path) -> None:
    from orchestrator.paths import Paths
    from orchestrator.reconcile.anonymous import RECORD, assign, recorded

    assert assign(Paths(tmp_path / "root"), tmp_path, rec(), []) == {}
    assert not (tmp_path / RECORD).exists() and recorded(tmp_path) == {}
    names = assign(Paths(tmp_path / "root"), tmp_path, rec(), ["/data"])
    assert recorded(tmp_path) == names == {"/data": name_for(rec(), "/data")}
