"""Docker-format seccomp profiles resolved for a container's capabilities, architecture and kernel."""

from __future__ import annotations

from typing import Any

from orchestrator.runtime.seccomp import resolve_profile

DOCKER_STYLE: dict[str, Any] = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
    ],
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PTRACE"]}},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "includes": {"minKernel": "5.3"}},
        {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "args": None},
    ],
}


def names(profile: dict[str, Any]) -> list[str]:
    return [n for rule in profile["syscalls"] for n in rule["names"]]


def test_conditions_follow_caps_arch_and_kernel() -> None:
    plain = resolve_profile(DOCKER_STYLE, [], machine="x86_64", kernel=(6, 1))
    assert plain["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert names(plain) == ["read", "write", "personality", "arch_prctl", "clone3", "mkdir"]
    assert plain["syscalls"][3]["errnoRet"] == 38 and "args" not in plain["syscalls"][4]
    assert plain["defaultErrnoRet"] == 1

    admin = resolve_profile(DOCKER_STYLE, ["CAP_SYS_PTRACE", "CAP_SYS_ADMIN"], machine="x86_64", kernel=(6, 1))
    assert names(admin) == ["read", "write", "ptrace", "arch_prctl", "clone3", "mkdir"]

    old_arm = resolve_profile(DOCKER_STYLE, [], machine="aarch64", kernel=(4, 19))
    assert old_arm["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert names(old_arm) == ["read", "write", "personality", "mkdir"]


def test_an_oci_format_profile_keeps_its_meaning() -> None:
    oci = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
    assert resolve_profile(oci, [], machine="x86_64", kernel=(6, 1)) == oci
