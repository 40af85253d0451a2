"""The standard device rules the runtime appends: all of them for a foreign bundle, as runc does,
none where the config already ends with them in force (every bundle pystack writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.cgroups.device_filter import program
from orchestrator.cgroups.plan_v1 import plan_v1
from orchestrator.runtime.config_builder import ContainerOptions, build_config
from orchestrator.runtime.devicerules import standard_rules_to_append, with_default_devices
from orchestrator.runtime.spec import STANDARD_DEVICE_RULES
from tests.helpers.rootfs import make_busybox_rootfs

STANDARD = [dict(r) for r in STANDARD_DEVICE_RULES]
DENY_ALL = {"allow": False, "access": "rwm"}


def _numbers(rules: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return [(r.get("major"), r.get("minor")) for r in rules]


@pytest.mark.parametrize("rules", [[], [DENY_ALL], [{"allow": True, "type": "c", "access": "rwm"}],
                                   [*STANDARD, DENY_ALL], [*STANDARD, {"allow": False, "type": "a", "major": 7}]])
def test_a_rule_list_that_does_not_end_with_them_in_force_gets_them_all(rules: list[dict[str, Any]]) -> None:
    """Nothing, a deny, a wider allow (v1 keys exceptions by exact numbers) or a later deny of type a."""
    assert standard_rules_to_append(rules) == STANDARD


def test_a_list_ending_with_them_gets_none() -> None:
    assert standard_rules_to_append([DENY_ALL, *STANDARD]) == []
    grant = {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "r"}
    assert standard_rules_to_append([DENY_ALL, *STANDARD, grant]) == []  # later allows change nothing
    assert standard_rules_to_append([{"allow": True, "access": "rwm"}]) == []  # every device, as privileged
    spelled = [{**r, "minor": -1} if r.get("minor") is None else r for r in STANDARD]
    assert standard_rules_to_append([DENY_ALL, *spelled]) == []  # -1 is "any" too


def test_only_what_a_later_deny_could_touch_comes_again() -> None:
    deny = {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"}
    assert _numbers(standard_rules_to_append([*STANDARD, deny])) == [(1, 3)]
    pts = {"allow": False, "type": "c", "major": 136, "minor": 5, "access": "rwm"}
    assert _numbers(standard_rules_to_append([*STANDARD, pts])) == [(136, None)]
    blocks = {"allow": False, "type": "b", "major": 1, "access": "rwm"}
    assert standard_rules_to_append([*STANDARD, blocks]) == []
    narrower = [{**r, "access": "rw"} if r.get("minor") == 5 else r for r in STANDARD]
    assert _numbers(standard_rules_to_append(narrower)) == [(1, 5)]


def _bundle_rules(tmp_path: Path, **kw: Any) -> list[dict[str, Any]]:
    """The device rules of a config pystack writes, and checks the runtime adds nothing to them."""
    cfg = build_config(ContainerOptions(args=["true"], rootfs=make_busybox_rootfs(tmp_path / "rootfs"), **kw))
    written = list(cfg["linux"]["resources"]["devices"])
    with_default_devices(cfg)
    assert cfg["linux"]["resources"]["devices"] == written
    return written


def test_a_pystack_bundle_names_each_standard_rule_once(tmp_path: Path) -> None:
    node = {"path": "/dev/mytun", "type": "c", "major": 10, "minor": 200, "fileMode": 0o600, "uid": 0, "gid": 0}
    grant = {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "r"}
    written = _bundle_rules(tmp_path, devices=[node], device_rules=[grant])
    assert sum(r in written for r in STANDARD) == len(STANDARD) == len(written) - 4  # deny, c/b mknod, grant
    # what appending them again would have added: writes already made, and a longer eBPF program
    runc_like, ours = plan_v1({"devices": [*written, *STANDARD]}), plan_v1({"devices": written})
    assert len(ours) < len(runc_like) and all(w in ours for w in runc_like)
    assert len(program(written)) < len(program([*written, *STANDARD]))
    assert _bundle_rules(tmp_path / "p", privileged=True) == [{"allow": True, "access": "rwm"}]


def test_a_foreign_bundle_still_gets_them_after_its_own_rules() -> None:
    cfg: dict[str, Any] = {"linux": {"resources": {"devices": [DENY_ALL]},
                                     "devices": [{"path": "/dev/x", "type": "c", "major": 10, "minor": 200}]}}
    with_default_devices(cfg)
    rules = cfg["linux"]["resources"]["devices"]
    assert rules[0] == DENY_ALL and rules[1:-1] == STANDARD and _numbers(rules[-1:]) == [(10, 200)]
