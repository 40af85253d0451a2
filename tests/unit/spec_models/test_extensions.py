"""``x-*`` extensions at every level are kept: ``config`` prints them where they were written."""

from __future__ import annotations

from orchestrator.spec.serialize import stack_to_compose

from .helpers import stack

DATA = {
    "x-top": 1,
    "services": {"a": {
        "image": "busybox", "x-svc": 2,
        "build": {"context": ".", "x-build": 3},
        "deploy": {"x-deploy": 4, "resources": {"limits": {"memory": "10m", "x-limits": 11}},
                   "restart_policy": {"condition": "any", "x-rp": 13}},
        "blkio_config": {"weight": 100, "x-blkio": 14},
        "ulimits": {"nofile": {"soft": 10, "hard": 20, "x-ul": 15}},
        "healthcheck": {"test": ["CMD", "true"], "x-hc": 5},
        "logging": {"driver": "json-file", "x-log": 6},
        "networks": {"n": {"x-svcnet": 7}},
        "ports": ["8000-8001:80-81", {"target": 90, "x-port": 8}],
        "volumes": [{"type": "tmpfs", "target": "/t", "x-vol": 12}],
    }},
    "networks": {"n": {"x-net": 9}},
}


def test_nested_extensions_come_back_where_they_were() -> None:
    out = stack_to_compose(stack(DATA))
    a = out["services"]["a"]
    assert out["x-top"] == 1 and a["x-svc"] == 2
    assert a["build"]["x-build"] == 3
    assert a["deploy"]["x-deploy"] == 4 and a["deploy"]["resources"]["limits"]["x-limits"] == 11
    assert a["healthcheck"]["x-hc"] == 5 and a["logging"]["x-log"] == 6
    assert a["networks"]["n"] == {"x-svcnet": 7}
    assert a["volumes"][0]["x-vol"] == 12
    assert a["deploy"]["restart_policy"]["x-rp"] == 13
    assert a["blkio_config"]["x-blkio"] == 14 and a["ulimits"]["nofile"]["x-ul"] == 15
    assert out["networks"]["n"]["x-net"] == 9


def test_a_list_the_normalizer_expanded_does_not_get_them_misplaced() -> None:
    a = stack_to_compose(stack(DATA))["services"]["a"]
    assert len(a["ports"]) == 3  # the range became two entries: index 1 of the file is not index 1 here
    assert not any("x-port" in p for p in a["ports"])


def test_extensions_do_not_change_the_config_hash() -> None:
    plain = {"services": {"a": {"image": "busybox", "build": {"context": "."}}}}
    marked = {"services": {"a": {"image": "busybox", "build": {"context": ".", "x-note": "hi"}}}}
    assert stack(plain).services["a"].config_hash() == stack(marked).services["a"].config_hash()
