"""Profiles as Compose applies them: off unless active or targeted; what enabled services need comes along."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import SpecErrors
from tests.helpers.shared import SHARED

from .helpers import load_errors, load_file, stack, write

DATA = {"services": {
    "web": {"image": "x", "depends_on": ["api"]},
    "api": {"image": "x"},
    "debug": {"image": "x", "profiles": ["debug"], "depends_on": ["tools"]},
    "tools": {"image": "x", "profiles": ["tools"]},
    "opt": {"image": "x", "profiles": ["extra"]},
    "lazy": {"image": "x", "depends_on": {"opt": {"condition": "service_started", "required": False}}},
}}


def test_no_profile_active() -> None:
    s = stack(DATA)
    assert sorted(s.services) == ["api", "lazy", "web"]
    assert sorted(s.disabled_services) == ["debug", "opt", "tools"]


def test_active_profile_pulls_in_needed_service() -> None:
    assert sorted(stack(DATA, profiles=["debug"]).services) == ["api", "debug", "lazy", "tools", "web"]


def test_targeted_service_enabled_with_its_profiles() -> None:
    assert "debug" in stack(DATA, targets=["debug"]).services


def test_star_enables_everything() -> None:
    assert len(stack(DATA, profiles=["*"]).services) == 6


def test_unknown_target() -> None:
    with pytest.raises(SpecErrors, match="no such service: nope"):
        stack(DATA, targets=["nope"])


def test_compose_profiles_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  a: {image: x}\n  b: {image: x, profiles: [p]}\n")
    assert sorted(load_file(path, environ={"COMPOSE_PROFILES": "p"}).services) == ["a", "b"]


TESTDATA = Path(SHARED, "compose-spec/loader/testdata")


def test_cycle_behind_a_disabled_profile_is_not_checked(tmp_path: Path) -> None:
    """The shape of compose-depends-on-profile-no-cycle: the cycle only closes through a disabled service."""
    text = (TESTDATA / "compose-depends-on-profile-no-cycle.yaml").read_text()
    path = write(tmp_path, text.replace("  service3:\n    image: service3\n",
                                        "  service3:\n    image: service3\n    profiles: [cycle]\n"))
    # service1 and service2 need service3, so enabling them enables it: the cycle is real...
    assert any("dependency cycle detected" in line for line in load_errors(path))
    # ...unless the edge that closes it is optional
    path = write(tmp_path, text.replace("    depends_on:\n      - service1\n",
                                        "    profiles: [cycle]\n    depends_on:\n      service1:\n"
                                        "        condition: service_started\n        required: false\n"))
    assert any("dependency cycle" in line for line in load_errors(path, profiles=["cycle"]))
