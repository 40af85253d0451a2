"""A probe inside the container checks each isolation property; the same bundle under crun agrees."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from orchestrator.paths import Paths
from orchestrator.runtime.engine import PystackRuntime
from orchestrator.runtime.external import ExternalRuntime
from tests.integration.runtime.conftest import BundleFactory, run_logged

pytestmark = pytest.mark.root

PROBE = r"""
echo "pid1=$(cat /proc/1/comm)"
echo "procs=$(cat /proc/[0-9]*/comm 2>/dev/null | sort -u | tr '\n' ',')"
echo "hostname=$(hostname)"
grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\t' | tr ':' '='
if [ -e /proc/kcore ]; then echo "kcore=$(wc -c < /proc/kcore)"; else echo kcore=absent; fi
echo "timer_list=$(wc -c < /proc/timer_list)"
echo "keys=$(wc -l < /proc/keys)"
echo "firmware=$(ls /sys/firmware | wc -l)"
if (echo x > /proc/sys/kernel/domainname) 2>/dev/null; then echo procsys=rw; else echo procsys=ro; fi
if [ -e /proc/sysrq-trigger ]; then
  echo "sysrq=$(grep ' /proc/sysrq-trigger ' /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1)"
else echo sysrq=absent; fi
echo "sys=$(grep ' /sys ' /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1)"
echo "fds=$(ls /proc/self/fd | tr '\n' ',')"
if mount -t tmpfs t /mnt 2>/dev/null; then echo mount=yes; else echo mount=no; fi
echo "ifaces=$(ls /sys/class/net | tr '\n' ',')"
echo "uidmap=$(tr -s ' ' < /proc/self/uid_map)"
echo "devs=$(ls /dev | tr '\n' ',')"
echo "shm=$(grep ' /dev/shm ' /proc/self/mountinfo | grep -o 'size=[0-9a-z]*')"
"""


def parse(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def probe(rt: PystackRuntime, make_bundle: BundleFactory) -> dict[str, str]:
    cid, bundle = make_bundle(["sh", "-c", PROBE], hostname="probe-host", shm_size=1 << 20)
    code, out, err = run_logged(rt, cid, bundle)
    assert code == 0, err
    return parse(out)


def test_probe_sees_an_isolated_container(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    p = probe(rt, make_bundle)
    assert p["pid1"] == "sh"
    assert "python3" not in p["procs"] and "pytest" not in p["procs"]
    assert p["hostname"] == "probe-host"
    assert p["CapEff"] == p["CapPrm"] == p["CapBnd"] == "00000000a80425fb"  # Docker's 14
    assert p["CapInh"] == p["CapAmb"] == "0000000000000000"
    assert p["NoNewPrivs"] == "1"
    assert p["Seccomp"] == "2"
    assert p["kcore"] in ("0", "absent")  # this kernel may lack /proc/kcore altogether
    assert p["timer_list"] == "0" and p["keys"] == "0" and p["firmware"] == "0"
    assert p["procsys"] == "ro" and p["sysrq"] in ("ro", "absent") and p["sys"] == "ro"
    assert p["fds"] == "0,1,2,3,"  # 3 is ls's own directory fd
    assert p["mount"] == "no"
    assert p["ifaces"] == "lo,"
    assert p["uidmap"].split() == ["0", "0", "4294967295"]
    for dev in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "ptmx", "fd"):
        assert dev + "," in p["devs"]
    assert p["shm"] == "size=1024k"


@pytest.mark.skipif(shutil.which("crun") is None, reason="crun not installed")
def test_crun_sees_the_same(rt: PystackRuntime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    ours = probe(rt, make_bundle)
    crun = ExternalRuntime("crun", Paths(tmp_path / "crun-root"))
    try:
        theirs = probe(crun, make_bundle)
    finally:
        for st in crun.list():
            crun.delete(st.id, force=True)
    # the pipeline's own short-lived processes race with the listing: compare the rest
    ours.pop("procs")
    theirs.pop("procs")
    assert ours == theirs


def userns_probe(rt: PystackRuntime, make_bundle: BundleFactory, rootfs: Path | None = None) -> dict[str, str]:
    script = PROBE + 'echo "id=$(id -u):$(id -g)"\necho "devnull=$(stat -c %t:%T /dev/null)"\n'
    cid, bundle = make_bundle(["sh", "-c", script], hostname="probe-host", shm_size=1 << 20,
                              uid_map=[(0, 200000, 65536)], rootfs=rootfs)
    (rootfs or bundle / "rootfs").chmod(0o755)
    code, out, err = run_logged(rt, cid, bundle)
    assert code == 0, err
    return parse(out)


def test_user_namespace_mapping(rt: PystackRuntime, make_bundle: BundleFactory, tmp_path: Path,
                                busybox_rootfs: Path) -> None:
    # pystack opens the root before becoming the mapped root, so the bundle may sit in a 0700 dir
    p = userns_probe(rt, make_bundle)
    assert p["uidmap"].split() == ["0", "200000", "65536"]
    assert p["id"] == "0:0"
    assert p["CapEff"] == "00000000a80425fb" and p["NoNewPrivs"] == "1" and p["Seccomp"] == "2"
    assert p["devnull"] == "1:3" and p["mount"] == "no" and p["ifaces"] == "lo,"
    if shutil.which("crun") is None:
        return
    # crun resolves the root by path as the mapped user: give it a world-traversable one
    shared = Path(tempfile.mkdtemp(prefix="rt-userns-"))
    try:
        shared.chmod(0o755)
        shutil.copytree(busybox_rootfs, shared / "rootfs", symlinks=True)
        ours = userns_probe(rt, make_bundle, shared / "rootfs")
        crun = ExternalRuntime("crun", Paths(tmp_path / "crun-root"))
        try:
            theirs = userns_probe(crun, make_bundle, shared / "rootfs")
        finally:
            for st in crun.list():
                crun.delete(st.id, force=True)
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    for key in ("uidmap", "id", "CapEff", "NoNewPrivs", "Seccomp", "devnull", "mount", "ifaces", "hostname",
                "procsys", "keys", "timer_list"):
        assert ours[key] == theirs[key], key
