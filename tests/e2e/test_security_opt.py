"""security_opt as Compose users write it: a seccomp profile file really filters the container's syscalls."""

from __future__ import annotations

import json

from tests.e2e.conftest import Host

PROFILE = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}],
}

STACK = """
name: e2eseccomp
services:
  strict:
    image: busybox:latest
    security_opt: ["seccomp=./profiles/no-mkdir.json"]
    command: ["sh", "-c", "mkdir /tmp/x && echo made || echo refused"]
  default:
    image: busybox:latest
    command: ["sh", "-c", "mkdir /tmp/x && echo made || echo refused"]
"""


def test_a_profile_file_filters_syscalls_and_an_edit_recreates(host: Host) -> None:
    host.write("profiles/no-mkdir.json", json.dumps(PROFILE))
    f = str(host.write("compose.yaml", STACK))
    host.pystack("-f", f, "up", "-d")
    logs = _wait_logs(host, f)
    assert logs["strict"] == "refused" and logs["default"] == "made"

    host.write("profiles/no-mkdir.json", json.dumps({**PROFILE, "syscalls": []}))
    dry = host.pystack("-f", f, "up", "--dry-run").stdout
    assert [line for line in dry.splitlines() if "recreate" in line] == [  # only the service using the profile
        "recreate e2eseccomp-strict-1: seccomp profile changed"]

    host.write("profiles/no-mkdir.json", "{not json")
    res = host.pystack("-f", f, "up", "-d", check=False)
    assert res.returncode == 1 and "security_opt seccomp=" in res.stderr and "not JSON" in res.stderr
    assert "Traceback" not in res.stderr
    host.pystack("-f", f, "down", "-t", "0")


def _wait_logs(host: Host, f: str) -> dict[str, str]:
    import time

    deadline = time.monotonic() + 20
    out: dict[str, str] = {}
    while time.monotonic() < deadline:
        for svc in ("strict", "default"):
            words = host.pystack("-f", f, "logs", "--no-log-prefix", svc).stdout.split()
            verdict = [w for w in words if w in ("made", "refused")]  # mkdir's own error may come first
            if verdict:
                out[svc] = verdict[-1]
        if len(out) == 2:
            return out
        time.sleep(0.1)
    raise AssertionError(f"no output from both services: {out}")


def test_privileged_and_cap_add_all_get_what_the_host_can_grant(host: Host) -> None:
    """This host's root lacks CAP_SYS_RESOURCE: asking the kernel for every capability would fail
    the start, so ``privileged`` means the engine's own bounding set, as with podman."""
    f = str(host.write("compose.yaml", """
name: e2epriv
services:
  priv:
    image: busybox:latest
    privileged: true
    command: ["sleep", "1000"]
  all:
    image: busybox:latest
    cap_add: [ALL]
    cap_drop: [NET_RAW]
    command: ["sleep", "1000"]
"""))
    host.pystack("-f", f, "up", "-d", "--wait")
    with open("/proc/self/status") as st:
        mine = int(next(ln for ln in st if ln.startswith("CapBnd:")).split()[1], 16)
    for service, expected in (("priv", mine), ("all", mine & ~(1 << 13))):  # 13: CAP_NET_RAW
        seen = host.pystack("-f", f, "exec", "-T", service, "grep", "CapBnd", "/proc/1/status").stdout
        assert int(seen.split()[1], 16) == expected, service


def test_exec_privileged_gives_the_command_the_hosts_capabilities(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: e2eexecpriv
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
"""))
    host.pystack("-f", f, "up", "-d", "--wait")
    plain = host.pystack("-f", f, "exec", "-T", "app", "grep", "CapEff", "/proc/self/status").stdout
    priv = host.pystack("-f", f, "exec", "-T", "--privileged", "app", "grep", "CapEff", "/proc/self/status").stdout
    with open("/proc/self/status") as st:
        mine = int(next(ln for ln in st if ln.startswith("CapBnd:")).split()[1], 16)
    assert int(priv.split()[1], 16) == mine
    assert int(plain.split()[1], 16) != mine  # Docker's default set, as the container has
    host.pystack("-f", f, "down", "-t", "0")
    host.pystack("-f", f, "down", "-t", "0")
