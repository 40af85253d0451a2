"""The keys that loosen or tighten isolation, read back from inside the containers they made.

group_add → ``id -G`` (of PID 1 and of exec'd processes); ipc/pid/uts → ``/proc/self/ns/*``
compared with another container's and the host's, and ``/proc/<pid>/ns/*`` of the PID 1s seen
from the host after a donor's restart (a joiner follows it); ``ipc: none`` → no /dev/shm;
``uts: host`` → the host's name in /etc/hostname; devices and device_cgroup_rules → the node in
/dev and whether the devices cgroup lets it open; volumes_from → the donor's files at the same
path; cgroup_parent → where the container's cgroup is on the host.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

SLEEP = '["sleep", "300"]'


def _sh(host: Host, f: str, svc: str, script: str, *extra: str) -> str:
    return host.pystack("-f", f, "exec", "-T", *extra, svc, "sh", "-c", script).stdout.strip()


def _ns(host: Host, f: str, svc: str) -> dict[str, str]:
    out = _sh(host, f, svc, "for n in ipc pid uts user mnt; do echo $n $(readlink /proc/self/ns/$n); done")
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_group_add_gives_every_process_the_groups_and_a_change_recreates(host: Host) -> None:
    stack = """
name: rtkgroups
services:
  app:
    image: busybox:latest
    network_mode: none
    group_add: [daemon, "4242"]
    command: ["sh", "-c", "id -G > /tmp/pid1-groups; exec sleep 300"]
"""
    f = str(host.write("compose.yaml", stack))
    host.pystack("-f", f, "up", "-d")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _sh(host, f, "app", "cat /tmp/pid1-groups 2>/dev/null") == "":
        time.sleep(0.1)
    assert _sh(host, f, "app", "cat /tmp/pid1-groups") == "0 1 4242"
    assert _sh(host, f, "app", "id -G") == "0 1 4242"  # exec'd: the container's process user
    assert _sh(host, f, "app", "id -G", "-u", "nobody") == "65534 1 4242"  # exec -u keeps group_add
    host.write("compose.yaml", stack.replace('[daemon, "4242"]', '["4243"]'))
    dry = host.pystack("-f", f, "up", "--dry-run").stdout
    assert any(line.startswith("recreate rtkgroups-app-1") for line in dry.splitlines()), dry
    host.write("compose.yaml", stack.replace('[daemon, "4242"]', "[wheel]"))
    res = host.pystack("-f", f, "up", "-d", check=False)
    assert res.returncode != 0 and "group_add: group 'wheel' not found in the image's /etc/group" in res.stderr
    assert "Traceback" not in res.stderr
    host.pystack("-f", f, "down", "-t", "0")


def test_ipc_pid_uts_join_the_named_namespaces_and_keep_them_across_a_restart(host: Host) -> None:
    stack = f"""
name: rtkns
services:
  donor:
    image: busybox:latest
    network_mode: none
    ipc: shareable
    command: {SLEEP}
  guest:
    image: busybox:latest
    network_mode: none
    ipc: service:donor
    pid: service:donor
    uts: host
    userns_mode: host
    command: {SLEEP}
  hosty:
    image: busybox:latest
    network_mode: none
    ipc: host
    pid: host
    command: {SLEEP}
  own:
    image: busybox:latest
    network_mode: none
    command: {SLEEP}
"""
    f = str(host.write("compose.yaml", stack))
    host.pystack("-f", f, "up", "-d")
    me = {n: os.readlink(f"/proc/self/ns/{n}") for n in ("ipc", "pid", "uts", "user", "mnt")}
    donor, guest, hosty, own = (_ns(host, f, s) for s in ("donor", "guest", "hosty", "own"))
    assert guest["ipc"] == donor["ipc"] != own["ipc"] and donor["ipc"] != me["ipc"]
    assert guest["pid"] == donor["pid"] != own["pid"] and donor["pid"] != me["pid"]
    assert guest["uts"] == me["uts"] and own["uts"] != me["uts"] and donor["uts"] != me["uts"]
    assert guest["user"] == me["user"]
    assert guest["mnt"] != donor["mnt"]
    assert (hosty["ipc"], hosty["pid"]) == (me["ipc"], me["pid"]) and hosty["uts"] != me["uts"]
    # the guest sees the donor's processes (its sleep is PID 1 there), and the host's name
    assert _sh(host, f, "guest", "cat /proc/1/cmdline | tr '\\0' ' '").strip() == "sleep 300"
    assert _sh(host, f, "guest", "hostname") == os.uname().nodename
    assert _sh(host, f, "own", "ps -o pid | wc -l") != _sh(host, f, "guest", "ps -o pid | wc -l")
    host.pystack("-f", f, "restart", "-t", "0", "guest")  # a new process, the same bundle: same namespaces
    again = _ns(host, f, "guest")
    assert (again["ipc"], again["pid"]) == (donor["ipc"], donor["pid"])
    host.pystack("-f", f, "down", "-t", "0")
    assert "ns-" not in Path("/proc/self/mountinfo").read_text()


def test_a_private_ipc_namespace_cannot_be_joined(host: Host) -> None:
    f = str(host.write("compose.yaml", f"""
name: rtkprivate
services:
  donor: {{image: busybox:latest, network_mode: none, ipc: private, command: {SLEEP}}}
  guest: {{image: busybox:latest, network_mode: none, ipc: "service:donor", command: {SLEEP}}}
"""))
    res = host.pystack("-f", f, "up", "-d", check=False)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "ipc: service:donor: rtkprivate-donor-1 has a private IPC namespace" in res.stderr
    host.pystack("-f", f, "down", "-t", "0")


@pytest.mark.skipif(not os.path.exists("/dev/net/tun"), reason="needs /dev/net/tun on the host")
def test_devices_and_device_cgroup_rules_grant_exactly_what_they_say(host: Host) -> None:
    f = str(host.write("compose.yaml", f"""
name: rtkdevices
services:
  mapped:
    image: busybox:latest
    network_mode: none
    devices: ["/dev/null:/dev/mynull:rwm", "/dev/net/tun:/dev/mytun:r"]
    command: {SLEEP}
  ruled:
    image: busybox:latest
    network_mode: none
    device_cgroup_rules: ["c 10:200 rw"]
    command: {SLEEP}
  plain:
    image: busybox:latest
    network_mode: none
    command: {SLEEP}
"""))
    host.pystack("-f", f, "up", "-d")
    nodes = _sh(host, f, "mapped", "ls -l /dev/mynull /dev/mytun").splitlines()
    assert [line.split()[0][0] + " ".join(line.split()[4:6]) for line in nodes] == ["c1, 3", "c10, 200"]
    assert _sh(host, f, "mapped", "echo x > /dev/mynull && echo wrote") == "wrote"
    probe = "(exec 3</dev/{0}) 2>/dev/null && echo r; (exec 3>/dev/{0}) 2>/dev/null && echo w; true"
    assert _sh(host, f, "mapped", probe.format("mytun")).split() == ["r"]  # :r: read only
    made = "mknod /dev/t c 10 200 && " + probe.format("t")
    assert _sh(host, f, "ruled", made).split() == ["r", "w"]
    assert _sh(host, f, "plain", made).split() == []  # mknod is allowed, opening is not
    host.pystack("-f", f, "down", "-t", "0")


def test_volumes_from_mounts_the_donors_volumes_at_the_same_targets(host: Host) -> None:
    data = host.workdir / "data"
    data.mkdir()
    (data / "hello").write_text("from the host\n")
    f = str(host.write("compose.yaml", f"""
name: rtkvolfrom
services:
  donor:
    image: busybox:latest
    network_mode: none
    volumes: ["./data:/data", "cache:/cache"]
    command: ["sh", "-c", "echo from-donor > /cache/made; exec sleep 300"]
  reader:
    image: busybox:latest
    network_mode: none
    volumes_from: ["donor:ro"]
    command: {SLEEP}
  writer:
    image: busybox:latest
    network_mode: none
    volumes_from: [donor]
    command: {SLEEP}
volumes:
  cache: {{}}
"""))
    host.pystack("-f", f, "up", "-d")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "from-donor" not in _sh(host, f, "reader", "cat /cache/made 2>&1"):
        time.sleep(0.1)
    assert _sh(host, f, "reader", "cat /data/hello /cache/made") == "from the host\nfrom-donor"
    assert _sh(host, f, "reader", "touch /data/x 2>&1 || true").endswith("Read-only file system")
    _sh(host, f, "writer", "echo from-writer > /data/w; echo w2 > /cache/w2")
    assert (data / "w").read_text() == "from-writer\n"
    assert _sh(host, f, "donor", "cat /cache/w2") == "w2"
    assert _sh(host, f, "reader", "ls /etc/hostname && cat /etc/hostname") != _sh(host, f, "donor", "cat /etc/hostname")
    host.pystack("-f", f, "down", "-v", "-t", "0")


def test_volumes_from_lends_on_what_the_donor_borrowed_with_its_mode(host: Host) -> None:
    """c borrows from b, which borrowed a's volume read-only: c sees a's file at a's path, read-only,
    and b's own volume writable, as Docker copies the donor's whole mount list."""
    f = str(host.write("compose.yaml", f"""
name: miscfixvolchain
services:
  a:
    image: busybox:latest
    network_mode: none
    volumes: ["adata:/adata"]
    command: ["sh", "-c", "echo from-a > /adata/made; exec sleep 300"]
  b:
    image: busybox:latest
    network_mode: none
    volumes: ["bdata:/bdata"]
    volumes_from: ["a:ro"]
    command: {SLEEP}
  c:
    image: busybox:latest
    network_mode: none
    volumes_from: [b]
    command: {SLEEP}
volumes:
  adata: {{}}
  bdata: {{}}
"""))
    try:
        host.pystack("-f", f, "up", "-d")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "from-a" not in _sh(host, f, "c", "cat /adata/made 2>&1"):
            time.sleep(0.1)
        assert _sh(host, f, "c", "cat /adata/made") == "from-a"
        assert _sh(host, f, "c", "touch /adata/x 2>&1 || true").endswith("Read-only file system")
        _sh(host, f, "c", "echo from-c > /bdata/c")
        assert _sh(host, f, "b", "cat /bdata/c") == "from-c"
    finally:
        host.pystack("-f", f, "down", "-v", "-t", "0", check=False)


def test_cgroup_parent_places_the_container_cgroup_and_down_removes_it(host: Host) -> None:
    parent = f"pystack/rtk-e2e-{secrets.token_hex(3)}"
    f = str(host.write("compose.yaml", f"""
name: rtkcgparent
services:
  app: {{image: busybox:latest, network_mode: none, cgroup_parent: {parent}, command: {SLEEP}}}
"""))
    host.pystack("-f", f, "up", "-d")
    try:
        base = Path("/sys/fs/cgroup/pids") / parent
        leaves = [p for p in base.iterdir() if p.is_dir()]
        assert len(leaves) == 1
        pids = leaves[0].joinpath("cgroup.procs").read_text().split()
        assert pids and f"pids:/{parent}/{leaves[0].name}" in Path(f"/proc/{pids[0]}/cgroup").read_text()
        host.pystack("-f", f, "down", "-t", "0")
        assert not base.exists()
    finally:
        host.pystack("-f", f, "down", "-t", "0", check=False)
        for ctrl in Path("/sys/fs/cgroup").iterdir():
            with contextlib.suppress(OSError):
                os.rmdir(ctrl / parent)


def _pid1(host: Host, f: str, svc: str) -> int | None:
    """The host pid of the service's first container's PID 1, None while it does not run."""
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    row = next(r for r in rows if r["Service"] == svc)
    if row["State"] != "running":
        return None
    state = json.loads(host.pystack("runtime", "state", str(row["ID"])).stdout)
    return int(state["pid"]) if state.get("status") == "running" and state.get("pid") else None


def _ns_inode(pid: int | None, kind: str) -> str | None:
    if pid is None:
        return None
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:  # it exited meanwhile
        return None


def _until(pred: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def _kill_and_await_new_run(host: Host, f: str, svc: str) -> int:
    """SIGKILL the service's PID 1 from the host; the pid of the run its restart policy starts."""
    first = _pid1(host, f, svc)
    assert first is not None
    os.kill(first, signal.SIGKILL)
    _until(lambda: _pid1(host, f, svc) not in (None, first), f"{svc} runs again")
    again = _pid1(host, f, svc)
    assert again is not None
    return again


def test_a_pid_joiner_follows_its_donor_across_the_donors_restart(host: Host) -> None:
    f = str(host.write("compose.yaml", f"""
name: nsfixpid
services:
  x: {{image: busybox:latest, network_mode: none, restart: always, command: {SLEEP}}}
  j: {{image: busybox:latest, network_mode: none, restart: always, pid: "service:x", command: {SLEEP}}}
"""))
    host.pystack("-f", f, "up", "-d")
    old = _ns_inode(_pid1(host, f, "x"), "pid")
    assert old is not None and _ns_inode(_pid1(host, f, "j"), "pid") == old
    new = _ns_inode(_kill_and_await_new_run(host, f, "x"), "pid")
    assert new is not None and new != old
    # the joiner died with x's namespace; its restart policy brings it back into the new one
    _until(lambda: _ns_inode(_pid1(host, f, "j"), "pid") == new, "j runs in x's new pid namespace")
    host.pystack("-f", f, "down", "-t", "0")


def test_an_ipc_joiner_restarted_after_its_donor_joins_the_donors_new_namespace(host: Host) -> None:
    f = str(host.write("compose.yaml", f"""
name: nsfixipc
services:
  x: {{image: busybox:latest, network_mode: none, restart: always, ipc: shareable, command: {SLEEP}}}
  j: {{image: busybox:latest, network_mode: none, restart: always, ipc: "service:x", command: {SLEEP}}}
"""))
    host.pystack("-f", f, "up", "-d")
    old = _ns_inode(_pid1(host, f, "x"), "ipc")
    assert old is not None and _ns_inode(_pid1(host, f, "j"), "ipc") == old
    new = _ns_inode(_kill_and_await_new_run(host, f, "x"), "ipc")
    assert new is not None and new != old
    assert _ns_inode(_pid1(host, f, "j"), "ipc") == old  # as with Docker: until the joiner's own restart
    _kill_and_await_new_run(host, f, "j")  # by the restart policy
    _until(lambda: _ns_inode(_pid1(host, f, "j"), "ipc") == new, "j runs in x's new ipc namespace")
    host.pystack("-f", f, "stop", "-t", "0", "x")
    res = host.pystack("-f", f, "restart", "-t", "0", "j", check=False)  # by a command
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "service 'j': ipc: service:x: nsfixipc-x-1 is not running" in res.stderr.strip().splitlines()[-1]
    host.pystack("-f", f, "start", "x")
    newest = _ns_inode(_pid1(host, f, "x"), "ipc")
    host.pystack("-f", f, "start", "j")
    assert _ns_inode(_pid1(host, f, "j"), "ipc") == newest != new
    for _ in range(3):  # both at once: x runs again before j pins its namespace
        host.pystack("-f", f, "restart", "-t", "0")
        # (compared with the last one only: a freed namespace's inode number is given out again)
        donor = _ns_inode(_pid1(host, f, "x"), "ipc")
        assert donor not in (None, newest) and _ns_inode(_pid1(host, f, "j"), "ipc") == donor
        newest = donor
    host.pystack("-f", f, "down", "-t", "0")


def test_a_joiner_whose_donor_is_down_retries_with_back_off_until_the_donor_is_back(host: Host) -> None:
    f = str(host.write("compose.yaml", f"""
name: nsfixbackoff
services:
  x: {{image: busybox:latest, network_mode: none, command: {SLEEP}}}
  j:
    image: busybox:latest
    network_mode: none
    pid: "service:x"
    command: {SLEEP}
    deploy: {{restart_policy: {{condition: any, window: 1s}}}}
"""))
    host.pystack("-f", f, "up", "-d")
    time.sleep(1.5)  # j's run counts as a healthy one: the back-off starts afresh at its end
    x = _pid1(host, f, "x")
    assert x is not None
    os.kill(x, signal.SIGKILL)  # x has no restart policy: it stays down, and j cannot start without it
    log = host.root / "run" / "stacks" / "nsfixbackoff" / "supervisor.log"
    failed = "nsfixbackoff-j-1: restart failed: service 'j': pid: service:x: nsfixbackoff-x-1 is not running"
    _until(lambda: failed in log.read_text(), "j's restart fails")
    time.sleep(3)
    tries = log.read_text().count(failed)
    assert 3 <= tries <= 12, f"{tries} restarts in about 3 s: the back-off (0, 0.1, 0.2 ... s) is not applied"
    host.pystack("-f", f, "start", "x")
    new = _ns_inode(_pid1(host, f, "x"), "pid")
    _until(lambda: _ns_inode(_pid1(host, f, "j"), "pid") == new, "j runs in x's new pid namespace")
    host.pystack("-f", f, "down", "-t", "0")


def test_ipc_none_is_a_private_namespace_without_dev_shm_that_no_one_joins(host: Host) -> None:
    f = str(host.write("compose.yaml", f"""
name: nsfixipcnone
services:
  bare: {{image: busybox:latest, network_mode: none, ipc: none, command: {SLEEP}}}
  own: {{image: busybox:latest, network_mode: none, command: {SLEEP}}}
"""))
    host.pystack("-f", f, "up", "-d")
    assert _sh(host, f, "bare", "test -e /dev/shm && echo there || echo absent") == "absent"
    assert " /dev/shm " not in _sh(host, f, "bare", "cat /proc/mounts")
    assert _sh(host, f, "own", "test -d /dev/shm && echo there") == "there"
    bare = _ns(host, f, "bare")["ipc"]
    assert bare not in (os.readlink("/proc/self/ns/ipc"), _ns(host, f, "own")["ipc"])
    host.write("compose.yaml", f"""
name: nsfixipcnone
services:
  bare: {{image: busybox:latest, network_mode: none, ipc: none, command: {SLEEP}}}
  own: {{image: busybox:latest, network_mode: none, ipc: "service:bare", command: {SLEEP}}}
""")
    res = host.pystack("-f", f, "up", "-d", check=False)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "ipc: service:bare: nsfixipcnone-bare-1 has a private IPC namespace (ipc: none" in res.stderr
    host.pystack("-f", f, "down", "-t", "0")


def test_uts_host_gives_etc_hostname_and_etc_hosts_the_hosts_name(host: Host) -> None:
    f = str(host.write("compose.yaml", f"""
name: nsfixuts
services:
  bridged: {{image: busybox:latest, uts: host, command: {SLEEP}}}
  alone: {{image: busybox:latest, network_mode: none, uts: host, command: {SLEEP}}}
  own: {{image: busybox:latest, network_mode: none, command: {SLEEP}}}
"""))
    host.pystack("-f", f, "up", "-d")
    name = os.uname().nodename
    for svc in ("bridged", "alone"):
        assert _sh(host, f, svc, "hostname; cat /etc/hostname").splitlines() == [name, name]
        assert name in _sh(host, f, svc, "cat /etc/hosts").split()
    own = _sh(host, f, "own", "hostname; cat /etc/hostname").splitlines()
    assert own[0] == own[1] != name
    host.pystack("-f", f, "down", "-t", "0")



def test_network_mode_host_gives_etc_hostname_the_hosts_name_and_keeps_extra_hosts(host: Host) -> None:
    """As Docker: a container on the host's network is named as the host in /etc/hostname too,
    and its /etc/hosts is the host's with the service's extra_hosts after it."""
    f = str(host.write("compose.yaml", f"""
name: nsfixnethost
services:
  h:
    image: busybox:latest
    network_mode: host
    extra_hosts: ["nsfix-extra:10.9.8.7"]
    command: {SLEEP}
"""))
    host.pystack("-f", f, "up", "-d")
    name = os.uname().nodename
    assert _sh(host, f, "h", "hostname; cat /etc/hostname").splitlines() == [name, name]
    hosts = _sh(host, f, "h", "cat /etc/hosts")
    assert hosts.startswith(Path("/etc/hosts").read_text().strip()) and "10.9.8.7\tnsfix-extra" in hosts
    host.pystack("-f", f, "down", "-t", "0")

def test_an_ipc_joiner_shares_the_donors_dev_shm_and_ipc_host_the_hosts(host: Host) -> None:
    """POSIX shared memory is files in /dev/shm: a joiner of ``ipc: service:x`` sees x's (and keeps
    seeing them across its own restart, and the next x's after x is recreated), as with Docker;
    ``ipc: host`` sees the host's. A container nobody joins keeps a /dev/shm of its own."""
    marker = Path("/dev/shm") / f"nsfixshm-{secrets.token_hex(4)}"
    marker.write_text("from the host\n")
    f = str(host.write("compose.yaml", f"""
name: nsfixshm
services:
  x: {{image: busybox:latest, network_mode: none, restart: always, command: {SLEEP}}}
  j: {{image: busybox:latest, network_mode: none, restart: always, ipc: "service:x", command: {SLEEP}}}
  alone: {{image: busybox:latest, network_mode: none, command: {SLEEP}}}
  h: {{image: busybox:latest, network_mode: none, ipc: host, command: {SLEEP}}}
"""))
    try:
        host.pystack("-f", f, "up", "-d")
        _sh(host, f, "x", "echo from x > /dev/shm/seg")
        assert _sh(host, f, "j", "cat /dev/shm/seg") == "from x"
        _sh(host, f, "j", "echo from j > /dev/shm/back")
        assert _sh(host, f, "x", "cat /dev/shm/back") == "from j"
        assert _sh(host, f, "alone", "ls /dev/shm") == ""
        assert _sh(host, f, "h", f"cat /dev/shm/{marker.name}") == "from the host"
        assert _sh(host, f, "h", "grep ' /dev/shm ' /proc/mounts | grep -c nosuid") == "1"
        _kill_and_await_new_run(host, f, "j")
        assert _sh(host, f, "j", "cat /dev/shm/seg") == "from x"
        host.pystack("-f", f, "up", "-d", "--force-recreate", "-t", "0", "x")  # a new x, with a new /dev/shm
        _sh(host, f, "x", "echo from the new x > /dev/shm/seg2")
        host.pystack("-f", f, "restart", "-t", "0", "j")
        assert _sh(host, f, "j", "cat /dev/shm/seg2") == "from the new x"
        host.pystack("-f", f, "down", "-t", "0")
        assert not list((host.root / "containers").glob("*/shm"))  # unmounted and gone with their containers
    finally:
        marker.unlink()
