"""depends_on: list to map with Compose's defaults; long form; unknown services."""

from __future__ import annotations

from .helpers import errors, stack


def test_list_to_map_with_defaults() -> None:
    s = stack({"services": {"a": {"image": "x", "depends_on": ["b"]}, "b": {"image": "x"}}})
    dep = s.services["a"].depends_on["b"]
    assert (dep.condition, dep.required, dep.restart) == ("service_started", True, False)


def test_long_form() -> None:
    s = stack({"services": {"a": {"image": "x", "depends_on": {"b": {"condition": "service_healthy",
                                                                       "restart": True}}},
                            "b": {"image": "x"}}})
    assert s.services["a"].depends_on["b"].condition == "service_healthy"


def test_bad_condition() -> None:
    lines = errors({"services": {"a": {"image": "x", "depends_on": {"b": {"condition": "up"}}}, "b": {"image": "x"}}})
    assert lines[0].startswith('services.a.depends_on.b.condition: invalid value "up"')


def test_unknown_service() -> None:
    assert errors({"services": {"a": {"image": "x", "depends_on": ["ghost"]}}}) == [
        "services.a.depends_on.ghost: refers to undefined service 'ghost'"]


def test_optional_unknown_service_warns() -> None:
    s = stack({"services": {"a": {"image": "x", "depends_on": {"ghost": {"condition": "service_started",
                                                                           "required": False}}}}})
    assert any("ghost" in w for w in s.warnings)


def test_other_references() -> None:
    lines = errors({"services": {"a": {"image": "x", "links": ["l1"], "volumes_from": ["v1", "container:c"],
                                       "ipc": "service:i1", "pid": "service:p1"},
                                 "n": {"image": "x", "network_mode": "service:n1"}}})
    joined = "\n".join(lines)
    for ref in ("l1", "v1", "i1", "p1", "n1"):
        assert f"'{ref}'" in joined
    assert "'c'" not in joined  # container: refers outside the stack
