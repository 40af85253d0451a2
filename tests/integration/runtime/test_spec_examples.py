"""The runtime-spec's own good examples: run where this host allows, refused in one line where not."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import PystackError
from orchestrator.runtime.engine import PystackRuntime
from tests.integration.runtime.conftest import bundle_factory, new_id, run_logged

pytestmark = pytest.mark.root
GOOD = Path("/work/shared/oci/runtime-spec/schema/test/config/good")


def bundle_from(name: str, tmp_path: Path, busybox_rootfs: Path) -> tuple[str, Path, dict[str, Any]]:
    cid = new_id()
    bundle = tmp_path / cid
    bundle.mkdir()
    shutil.copytree(busybox_rootfs, bundle / "rootfs", symlinks=True)
    (bundle / "rootfs").chmod(0o755)
    cfg = json.loads((GOOD / name).read_text())
    return cid, bundle, cfg


@pytest.mark.parametrize(("name", "why"), [
    ("minimal.json", "process is required"),
    ("linux-netdevice.json", "process is required"),
    ("linux-rdma.json", "process is required"),
    ("minimal-for-start.json", "mount namespace is required"),  # host namespaces only: no pivot_root
])
def test_examples_this_runtime_refuses(rt: PystackRuntime, tmp_path: Path, busybox_rootfs: Path, name: str,
                                       why: str) -> None:
    cid, bundle, cfg = bundle_from(name, tmp_path, busybox_rootfs)
    (bundle / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(PystackError, match=why) as err:
        rt.create(cid, bundle)
    assert "\n" not in str(err.value)
    assert rt.list() == []


def test_spec_example_runs_with_this_hosts_limits(rt: PystackRuntime, tmp_path: Path, busybox_rootfs: Path,
                                                  request: pytest.FixtureRequest) -> None:
    """spec-example.json (user, time and cgroup namespaces, caps, rlimits, devices, resources) with only
    what this host cannot provide taken out, each named."""
    cid, bundle, cfg = bundle_from("spec-example.json", tmp_path, busybox_rootfs)
    proc, linux = cfg["process"], cfg["linux"]
    proc["terminal"] = False  # no console socket in this test
    proc["args"] = ["sh", "-c", "id; hostname; cat /proc/sys/net/core/somaxconn; ulimit -n; cat /dev/shm/ldcache"]
    linux["cgroupsPath"] = f"pystack/{cid}"
    res = linux["resources"]
    for k in ("realtimeRuntime", "realtimePeriod"):  # the host's RT budget is smaller
        res["cpu"].pop(k)
    res["cpu"].update(cpus="0-1", mems="0")  # 2 cores, 1 memory node
    res.pop("hugepageLimits")  # no v1 hugetlb controller here
    for k in ("weightDevice", "throttleReadBpsDevice", "throttleWriteIOPSDevice"):  # no /dev/sda
        res["blockIO"].pop(k)
    linux["devices"] = [d for d in linux["devices"] if d["path"] != "/dev/sda"]
    linux["sysctl"].pop("net.ipv4.ip_forward")  # never touch forwarding, even in a private netns
    for key in ("apparmorProfile", "selinuxLabel"):  # no LSM on this kernel: refused (tested below)
        proc.pop(key)
    linux.pop("mountLabel")
    # The example's hook programs do not exist here: each becomes a recorder keeping the example's
    # args and env; startContainer's path is resolved inside the container, so it is put there.
    # createContainer runs as the user namespace's root (host uid 1000 here), which cannot
    # enter pytest's private tmp: the recorder and its log live in a directory open to it.
    shared = Path(tempfile.mkdtemp(prefix="pstest-hooks-"))
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    shared.chmod(0o755)
    log = shared / "hooks.log"
    log.touch(mode=0o666)
    log.chmod(0o666)
    recorder = shared / "recorder"
    recorder.write_text(f"#!/bin/sh\necho \"$* key1=$key1\" >> {log}\ncat > /dev/null\n")  # argv[0] is not seen
    recorder.chmod(0o755)
    for phase, entries in cfg["hooks"].items():
        if phase != "startContainer":
            for h in entries:
                h["path"] = str(recorder)
    inside = bundle / "rootfs" / "usr" / "bin" / "refresh-ldcache"
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.write_text("#!/bin/sh\necho refreshed > /dev/shm/ldcache\n")  # the root is read-only
    inside.chmod(0o755)
    (bundle / "config.json").write_text(json.dumps(cfg))
    code, out, err = run_logged(rt, cid, bundle)
    assert code == 0, err
    assert out.split("\n")[:5] == ["uid=1 gid=1 groups=5,6", "slartibartfast", "256", "1024", "refreshed"]
    assert log.read_text().splitlines() == [
        "arg1 arg2 key1=value1", " key1=",  # prestart
        "arg1 arg2 key1=value1", " key1=",  # createRuntime
        "arg1 arg2 key1=value1",  # createContainer
        " key1=",  # poststart
        "-f key1=",  # poststop
    ]


@pytest.mark.parametrize(("where", "key", "value", "why"), [
    ("process", "apparmorProfile", "acme_secure_profile", "process.apparmorProfile: AppArmor is not enabled"),
    ("process", "selinuxLabel", "system_u:system_r:svirt_lxc_net_t:s0", "process.selinuxLabel: SELinux is not enabled"),
    ("linux", "mountLabel", "system_u:object_r:svirt_sandbox_file_t:s0", "linux.mountLabel: SELinux is not enabled"),
])
def test_security_labels_this_host_cannot_enforce_are_refused(rt: PystackRuntime, tmp_path: Path,
                                                              busybox_rootfs: Path, where: str, key: str,
                                                              value: str, why: str) -> None:
    """Confinement the bundle asks for is never silently dropped (this kernel has neither LSM)."""
    assert not Path("/sys/fs/selinux/enforce").exists()
    assert not Path("/sys/module/apparmor/parameters/enabled").exists()
    cid, bundle = bundle_factory(tmp_path, busybox_rootfs)(["true"], edit=lambda cfg: cfg[where].update({key: value}))
    with pytest.raises(PystackError, match=why):
        rt.create(cid, bundle)
    assert rt.list() == []
