"""scale and deploy.replicas reconciled; container_name rules."""

from __future__ import annotations

from .helpers import errors, service, service_errors


def test_scale_from_either() -> None:
    assert service({}).scale == 1
    assert service({"scale": 3}).scale == service({"deploy": {"replicas": 3}}).scale == 3


def test_disagreement() -> None:
    [line] = service_errors({"scale": 2, "deploy": {"replicas": 3}})
    assert line == "services.svc.scale: scale (2) and deploy.replicas (3) disagree"


def test_scale_not_in_hash() -> None:
    assert service({"scale": 1}).config_hash() == service({"scale": 4}).config_hash()


def test_container_name_with_scale() -> None:
    [line] = service_errors({"container_name": "one", "scale": 2})
    assert "cannot be used with scale 2" in line


def test_duplicate_container_name() -> None:
    lines = errors({"services": {"a": {"image": "x", "container_name": "c1"},
                                 "b": {"image": "x", "container_name": "c1"}}})
    assert lines == ["services.b.container_name: container name 'c1' is already used by service a"]


def test_swarm_keys_warn() -> None:
    from .helpers import stack

    s = stack({"services": {"a": {"image": "x", "deploy": {"mode": "global", "placement": {"constraints": []}}}}})
    assert len([w for w in s.warnings if "Swarm" in w]) == 2
