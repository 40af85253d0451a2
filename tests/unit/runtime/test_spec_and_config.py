"""Config validation (runtime-spec test/good and test/bad), the config builder, state documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import RuntimeFailure
from orchestrator.runtime import caps, spec
from orchestrator.runtime.api import ContainerState, ExitStatus
from orchestrator.runtime.config_builder import (
    ContainerOptions,
    build_config,
    resolve_groups,
    resolve_user,
    write_bundle,
)
from orchestrator.runtime.devicerules import with_default_devices
from orchestrator.runtime.engine import parse_signal
from tests.helpers.rootfs import make_busybox_rootfs
from tests.helpers.shared import SHARED
from tests.unit.runtime.ocischema import validate_config, validate_state

TESTS = Path(SHARED, "oci/runtime-spec/schema/test")
LINUX_GOOD = ["minimal.json", "minimal-for-start.json", "spec-example.json", "linux-netdevice.json", "linux-rdma.json"]


@pytest.mark.parametrize("name", LINUX_GOOD)
def test_good_linux_examples_pass_our_checks(name: str) -> None:
    spec.validate(json.loads((TESTS / "config/good" / name).read_text()))


@pytest.mark.parametrize("name", sorted(p.name for p in (TESTS / "config/bad").iterdir()))
def test_bad_examples_are_refused_in_one_line(name: str, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_bytes((TESTS / "config/bad" / name).read_bytes())
    with pytest.raises(RuntimeFailure) as err:
        spec.load_config(tmp_path)
    assert "\n" not in str(err.value) and "config.json" in str(err.value)


@pytest.mark.parametrize("name", ["freebsd-minimal.json", "zos-minimal.json"])
def test_other_platforms_are_refused(name: str) -> None:
    with pytest.raises(RuntimeFailure, match="Linux containers only"):
        spec.validate(json.loads((TESTS / "config/good" / name).read_text()))


def test_builder_output_validates_against_the_schema(tmp_path: Path) -> None:
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    opts = ContainerOptions(
        args=["sh"], rootfs=rootfs, env={"A": "1"}, user="app", hostname="h", domainname="d", terminal=True,
        readonly_rootfs=True, netns="/run/netns/rtns-x", cap_add=["NET_ADMIN"], cap_drop=["MKNOD"],
        sysctls={"net.core.somaxconn": "1024"}, rlimits={"nofile": (1024, 2048)},
        resources={"memory": {"limit": 1 << 26}, "pids": {"limit": 100}}, cgroups_path="pystack/rt-x",
        shm_size=1 << 20, init=True, oom_score_adj=100, annotations={"k": "v"}, umask=0o22,
        mounts=[{"destination": "/data", "type": "bind", "source": "/tmp", "options": ["rbind", "ro"]}],
    )
    cfg = build_config(opts)
    validate_config(cfg)
    spec.validate(cfg)
    assert cfg["process"]["args"][:2] == ["/sbin/docker-init", "--"]
    assert cfg["process"]["user"] == {"uid": 1000, "gid": 1000, "umask": 0o22}
    eff = cfg["process"]["capabilities"]["effective"]
    assert "CAP_NET_ADMIN" in eff and "CAP_MKNOD" not in eff and len(eff) == 14
    ns = {n["type"]: n.get("path") for n in cfg["linux"]["namespaces"]}
    assert ns == {"pid": None, "network": "/run/netns/rtns-x", "ipc": None, "uts": None, "mount": None,
                  "cgroup": None}
    assert cfg["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    write_bundle(tmp_path / "b", cfg)
    assert json.loads((tmp_path / "b" / "config.json").read_text()) == cfg


def test_privileged_and_host_namespaces(tmp_path: Path) -> None:
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    cfg = build_config(ContainerOptions(args=["true"], rootfs=rootfs, privileged=True, netns="host",
                                        pid_ns="host", seccomp="unconfined"))
    validate_config(cfg)
    assert set(cfg["process"]["capabilities"]["bounding"]) == caps.host_bounding()  # all the host can grant
    assert "seccomp" not in cfg["linux"] and "maskedPaths" not in cfg["linux"]
    assert {n["type"] for n in cfg["linux"]["namespaces"]} == {"ipc", "uts", "mount", "cgroup"}


def test_user_resolution_reads_the_image_not_the_host(tmp_path: Path) -> None:
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    (rootfs / "etc/group").write_text("root:x:0:\napp:x:1000:\nwheel:x:10:app\n")
    assert resolve_user(rootfs, "app") == (1000, 1000, [10], "/home")
    assert resolve_user(rootfs, "1000:10") == (1000, 10, [10], "/home")
    assert resolve_user(rootfs, "4242") == (4242, 0, [], "/")
    assert resolve_user(rootfs, "nobody:app")[:2] == (65534, 1000)
    with pytest.raises(RuntimeFailure, match="not found in the image"):
        resolve_user(rootfs, "ghost")
    (rootfs / "etc/passwd").unlink()
    (rootfs / "etc/passwd").symlink_to("/etc/shadow")  # resolved inside the root: no host file is read
    with pytest.raises(RuntimeFailure, match="not found in the image"):
        resolve_user(rootfs, "root")


def test_state_and_exit_documents() -> None:
    st = ContainerState("1.0.2", "rt-1", "running", 42, "/b", {"a": "b"})
    validate_state(st.to_json())
    stopped = ContainerState("1.0.2", "rt-1", "stopped", 42, "/b")
    assert "pid" not in stopped.to_json()
    validate_state(stopped.to_json())
    ex = ExitStatus(137, 9, True, 1.5)
    assert ExitStatus.from_json(json.loads(json.dumps(ex.to_json()))) == ex


def test_signals_and_caps_by_name() -> None:
    assert parse_signal("TERM") == parse_signal("SIGTERM") == parse_signal("15") == parse_signal(15) == 15
    with pytest.raises(RuntimeFailure, match="unknown signal"):
        parse_signal("SIGNOPE")
    assert caps.mask(caps.DOCKER_DEFAULT) == 0xA80425FB
    assert caps.normalize(["net_admin", "CAP_NET_ADMIN", "NET_RAW"]) == ["CAP_NET_ADMIN", "CAP_NET_RAW"]
    with pytest.raises(RuntimeFailure, match="unknown capability"):
        caps.number("CAP_FLY")


def test_the_hosts_bounding_set_is_read_by_name(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapBnd:\t0000000000000003\n")
    assert caps.host_bounding(str(status)) == {"CAP_CHOWN", "CAP_DAC_OVERRIDE"}
    status.write_text("Name:\tx\n")  # unreadable: assume everything, as before
    assert caps.host_bounding(str(status)) == set(caps.ALL_CAPS)
    assert caps.grantable() == [c for c in caps.ALL_CAPS if c in caps.host_bounding()]  # in number order


def test_cap_add_all_grants_what_the_host_can_and_keeps_drops(tmp_path: Path) -> None:
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    cfg = build_config(ContainerOptions(args=["true"], rootfs=rootfs, cap_add=["ALL"], cap_drop=["NET_RAW"]))
    got = set(cfg["process"]["capabilities"]["bounding"])
    assert got == caps.host_bounding() - {"CAP_NET_RAW"}


def test_device_rules_deny_all_but_the_standard_nodes_and_what_was_granted(tmp_path: Path) -> None:
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    node = {"path": "/dev/mytun", "type": "c", "major": 10, "minor": 200, "fileMode": 0o600, "uid": 0, "gid": 0}
    grant = {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "r"}
    cfg = build_config(ContainerOptions(args=["true"], rootfs=rootfs, devices=[node], device_rules=[grant],
                                        ipc_ns="/x/ns-ipc", uts_ns="host", additional_gids=[4242]))
    validate_config(cfg)
    spec.validate(cfg)
    rules = cfg["linux"]["resources"]["devices"]
    assert rules[0] == {"allow": False, "access": "rwm"} and rules[-1] == grant
    assert {(r.get("major"), r.get("minor")) for r in rules[1:] if r["access"] == "rwm"} == {
        (1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (136, None)}
    assert cfg["linux"]["devices"] == [node]
    assert cfg["process"]["user"]["additionalGids"] == [4242]
    ns = {n["type"]: n.get("path") for n in cfg["linux"]["namespaces"]}
    assert ns["ipc"] == "/x/ns-ipc" and "uts" not in ns
    # the runtime adds its defaults and an rwm rule only for devices the rules do not name already
    with_default_devices(cfg)
    assert [r for r in cfg["linux"]["resources"]["devices"] if r.get("major") == 10] == [grant]
    privileged = build_config(ContainerOptions(args=["true"], rootfs=rootfs, privileged=True))
    assert privileged["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]


def test_no_dev_shm_leaves_out_only_its_mount(tmp_path: Path) -> None:
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    with_shm = build_config(ContainerOptions(args=["true"], rootfs=rootfs))
    without = build_config(ContainerOptions(args=["true"], rootfs=rootfs, dev_shm=False))
    validate_config(without)
    assert "/dev/shm" in [m["destination"] for m in with_shm["mounts"]]
    assert [m for m in with_shm["mounts"] if m["destination"] != "/dev/shm"] == without["mounts"]
    assert {"type": "ipc"} in without["linux"]["namespaces"]


def test_group_names_resolve_in_the_image(tmp_path: Path) -> None:
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    (rootfs / "etc/group").write_text("root:x:0:\naudio:x:29:\n")
    assert resolve_groups(rootfs, ["audio", "4242", "0"]) == [29, 4242, 0]
    with pytest.raises(RuntimeFailure, match="group 'video' not found in the image's /etc/group"):
        resolve_groups(rootfs, ["video"])
