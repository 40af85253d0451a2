"""volumes_from: which of a donor's mounts are borrowed, with which mode, and what is lent on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import PystackError
from orchestrator.paths import Paths
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.desired import ServicePlan
from orchestrator.reconcile.volumes_from import borrowed_mounts, lent_on, remember
from orchestrator.state import containers as cstate
from orchestrator.state.containers import ContainerRecord


def _bind(dest: str, mode: str) -> dict[str, Any]:
    return {"destination": dest, "type": "bind", "source": f"/src{dest}", "options": ["rbind", mode]}


def _donor(ctx: Context, service: str, volumes: list[str], mounts: list[dict[str, Any]]) -> Path:
    """A made container of ``service``: its state row and its bundle's config.json."""
    spec = {"service": {"volumes": [{"type": "volume", "target": t} for t in volumes]}}
    cstate.insert(ctx.db(), ContainerRecord(id=f"id-{service}", name=f"vf-{service}-1", project="vf",
                                            service=service, number=1, config_hash="h", status="running",
                                            spec=spec))
    cdir = ctx.paths.container(f"id-{service}")
    cdir.mkdir(parents=True)
    (cdir / "config.json").write_text(json.dumps({"mounts": mounts}))
    return cdir


def _plan(*volumes_from: str) -> ServicePlan:
    return ServicePlan(project="vf", service="c", image="x", config_hash="h", volumes_from=list(volumes_from))


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    """``a`` has /a; ``b`` has /b of its own and borrowed /a read-only (``volumes_from: [a:ro]``)."""
    ctx = Context(Paths(tmp_path))
    _donor(ctx, "a", ["/a"], [_bind("/a", "rw"), _bind("/etc/hosts", "rw")])
    b = _donor(ctx, "b", ["/b"], [_bind("/b", "rw"), _bind("/etc/hosts", "rw"), _bind("/a", "ro")])
    remember(b, [_bind("/a", "ro")])
    return ctx


def _modes(mounts: list[dict[str, Any]]) -> dict[str, str]:
    return {m["destination"]: m["options"][-1] for m in mounts}


def test_what_the_donor_borrowed_is_lent_on_with_its_own_mode(ctx: Context) -> None:
    assert _modes(borrowed_mounts(ctx, _plan("b"), set())) == {"/b": "rw", "/a": "ro"}


def test_a_mode_on_the_entry_sets_every_borrowed_mount(ctx: Context) -> None:
    assert _modes(borrowed_mounts(ctx, _plan("b:ro"), set())) == {"/b": "ro", "/a": "ro"}
    assert _modes(borrowed_mounts(ctx, _plan("b:rw"), set())) == {"/b": "rw", "/a": "rw"}


def test_a_target_already_mounted_keeps_what_it_has(ctx: Context) -> None:
    taken = {"/b"}
    assert _modes(borrowed_mounts(ctx, _plan("a", "b"), taken)) == {"/a": "rw"}
    assert taken == {"/a", "/b"}


def test_nothing_is_lent_on_by_a_donor_that_borrowed_nothing(tmp_path: Path) -> None:
    ctx = Context(Paths(tmp_path))
    b = _donor(ctx, "b", ["/b"], [_bind("/b", "rw"), _bind("/a", "ro")])
    assert lent_on(b) == []
    assert _modes(borrowed_mounts(ctx, _plan("b"), set())) == {"/b": "rw"}


def test_the_record_reads_back_and_a_missing_donor_is_an_error(ctx: Context, tmp_path: Path) -> None:
    cdir = tmp_path / "c"
    cdir.mkdir()
    remember(cdir, [_bind("/x", "rw"), _bind("/y", "ro")])
    assert lent_on(cdir) == ["/x", "/y"]
    remember(tmp_path, [])
    assert list(tmp_path.glob("volumes-from*")) == []
    with pytest.raises(PystackError, match="volumes_from: nope: no such container"):
        borrowed_mounts(ctx, _plan("nope"), set())
