"""networks: service lists to maps, the implicit default, top-level names, undeclared networks."""

from __future__ import annotations

from .helpers import errors, stack


def test_default_network_implied_and_named() -> None:
    s = stack({"services": {"a": {"image": "x"}}})
    assert list(s.services["a"].networks) == ["default"]
    assert s.networks["default"].name == "proj_default"


def test_list_and_map_forms_equal() -> None:
    nets = {"front": {}, "back": {"driver": "bridge", "internal": True}}
    a = stack({"services": {"a": {"image": "x", "networks": ["front", "back"]}}, "networks": nets})
    b = stack({"services": {"a": {"image": "x", "networks": {"front": None, "back": {}}}}, "networks": nets})
    assert a.services == b.services
    assert "default" not in a.networks


def test_attachment_options() -> None:
    s = stack({"services": {"a": {"image": "x", "networks": {"n": {"aliases": ["db"], "ipv4_address": "10.1.0.5",
                                                                    "priority": 10}}}},
               "networks": {"n": {"ipam": {"config": [{"subnet": "10.1.0.0/24", "gateway": "10.1.0.1"}]}}}})
    att = s.services["a"].networks["n"]
    assert (att.aliases, att.ipv4_address, att.priority) == (["db"], "10.1.0.5", 10)
    assert s.networks["n"].ipam.config[0].subnet == "10.1.0.0/24"


def test_names_resolved() -> None:
    s = stack({"services": {}, "networks": {"a": None, "b": {"name": "bee"}, "c": {"external": True},
                                            "d": {"external": {"name": "legacy"}}}})
    assert {k: (v.name, v.external) for k, v in s.networks.items()} == {
        "a": ("proj_a", False), "b": ("bee", False), "c": ("c", True), "d": ("legacy", True)}


def test_undeclared_network() -> None:
    assert errors({"services": {"a": {"image": "x", "networks": ["nope"]}}}) == [
        "services.a.networks.nope: network 'nope' is used but not declared"]


def test_network_mode_excludes_networks() -> None:
    s = stack({"services": {"a": {"image": "x", "network_mode": "host"}}})
    assert s.services["a"].networks == {} and s.networks == {}
    lines = errors({"services": {"a": {"image": "x", "network_mode": "host", "networks": ["default"]}}})
    assert "network_mode and networks cannot be used together" in lines[0]
