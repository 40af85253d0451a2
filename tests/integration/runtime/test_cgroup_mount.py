"""A cgroup filesystem mounted into the root shows what its namespace says, whenever the init joins.

The init joins its cgroups by itself before anything else (``cgroups.SelfJoin``), so what the
mount shows is right in both cases checked here on the real v1 hierarchies of this host. (The
order the caller's join needs, in a user namespace, is ``init.joins_cgroup_late``.)
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.cgroups import detect_mode
from orchestrator.runtime.engine import PystackRuntime
from tests.integration.runtime.conftest import BundleFactory, run_logged

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(detect_mode() == "unified", reason="checks cgroup v1 hierarchies")]

LIMIT = 48 * 1024 * 1024
PROBE = """own=$(grep ':memory:' /proc/self/cgroup | cut -d: -f3)
echo own=$own
echo root_limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
echo own_limit=$(cat /sys/fs/cgroup/memory$own/memory.limit_in_bytes)"""


def _with_cgroup_mount(cgroupns: bool) -> Any:
    def edit(cfg: dict[str, Any]) -> None:
        cfg["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                              "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})
        if not cgroupns:
            cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "cgroup"]
    return edit


def _probe(rt: PystackRuntime, make_bundle: BundleFactory, cgroupns: bool) -> tuple[str, dict[str, str]]:
    cid, bundle = make_bundle(["sh", "-c", PROBE], resources={"memory": {"limit": LIMIT}},
                              edit=_with_cgroup_mount(cgroupns))
    code, out, err = run_logged(rt, cid, bundle)
    assert code == 0, err
    return cid, dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_in_its_own_cgroup_namespace_the_mount_s_root_is_the_container_s_cgroup(
        rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    _, seen = _probe(rt, make_bundle, cgroupns=True)
    assert seen["own"] == "/"
    assert int(seen["root_limit"]) == int(seen["own_limit"]) == LIMIT


def test_without_one_the_mount_shows_the_host_s_hierarchy_and_the_init_still_joins_its_cgroup(
        rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    cid, seen = _probe(rt, make_bundle, cgroupns=False)
    assert seen["own"] == f"/pystack/{cid}"
    assert int(seen["root_limit"]) != LIMIT  # the host's root, not the container's cgroup
    assert int(seen["own_limit"]) == LIMIT
