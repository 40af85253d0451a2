"""seccomp: Docker's default profile (data in seccomp_default.json) and compiling OCI profiles to BPF.

libseccomp is driven through PyPI's ``pyseccomp`` (ctypes over libseccomp.so.2), not Debian's
``python3-seccomp``: that one is a C extension built for Debian's /usr/bin/python3 and does not
import in pystack's own interpreter. Importing pyseccomp costs ~14 ms, so a profile is compiled
once and its BPF cached by content hash; container inits only load the cached bytes with one
seccomp(2) call.
"""

from __future__ import annotations

import contextlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from orchestrator import sha256
from orchestrator.errors import RuntimeFailure

_DATA = Path(__file__).with_name("seccomp_default.json")
_OPS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ")


@cache
def _policy() -> dict[str, Any]:
    return json.loads(_DATA.read_text())  # type: ignore[no-any-return]


def default_profile(caps: list[str] | None = None) -> dict[str, Any]:
    """Docker's default policy resolved for a capability set, as an OCI ``linux.seccomp`` object."""
    pol = _policy()
    have = set(caps or [])
    names = list(pol["allow"])
    for cap, extra in pol["allowWithCaps"].items():
        if cap in have:
            names.extend(n for n in extra if n not in names)
    syscalls: list[dict[str, Any]] = [{"names": sorted(names), "action": "SCMP_ACT_ALLOW"}]
    for rule in pol["argRules"]:
        if set(rule.get("unlessCaps", [])) & have:
            syscalls.append({"names": rule["names"], "action": "SCMP_ACT_ALLOW"})
            continue
        for args in rule["anyOf"]:
            syscalls.append({"names": rule["names"], "action": "SCMP_ACT_ALLOW", "args": args})
    for rule in pol["errnoWithoutCaps"]:
        if set(rule["caps"]) & have:
            syscalls.append({"names": rule["names"], "action": "SCMP_ACT_ALLOW"})
        else:
            syscalls.append({"names": rule["names"], "action": "SCMP_ACT_ERRNO", "errnoRet": rule["errnoRet"]})
    return {
        "defaultAction": pol["defaultAction"],
        "defaultErrnoRet": pol["defaultErrnoRet"],
        "architectures": list(pol["architectures"]),
        "syscalls": syscalls,
    }


_HOST_ARCH = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64", "armv7l": "SCMP_ARCH_ARM",
              "ppc64le": "SCMP_ARCH_PPC64LE", "s390x": "SCMP_ARCH_S390X", "riscv64": "SCMP_ARCH_RISCV64"}


def resolve_profile(doc: dict[str, Any], caps: list[str] | None = None, machine: str | None = None,
                    kernel: tuple[int, int] | None = None) -> dict[str, Any]:
    """A Docker-format profile (``archMap``, per-rule ``includes``/``excludes``) as an OCI seccomp object.

    Docker resolves a profile against the container's capabilities, the host's architecture and its
    kernel; an OCI-format profile (no such conditions) passes through unchanged in meaning.
    """
    machine = machine or os.uname().machine
    arch = _HOST_ARCH.get(machine, f"SCMP_ARCH_{machine.upper()}")
    if kernel is None:
        kernel = _kernel_version()
    have = set(caps or [])
    out: dict[str, Any] = {"defaultAction": doc["defaultAction"]}
    for key in ("defaultErrnoRet", "listenerPath", "listenerMetadata", "flags"):
        if key in doc:
            out[key] = doc[key]
    if doc.get("architectures"):
        out["architectures"] = list(doc["architectures"])
    elif doc.get("archMap"):
        for entry in doc["archMap"]:
            if entry.get("architecture") == arch:
                out["architectures"] = [arch, *(entry.get("subArchitectures") or [])]
    syscalls = []
    for rule in doc.get("syscalls") or []:
        inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
        if inc.get("caps") and not set(inc["caps"]) <= have:
            continue
        if inc.get("arches") and arch not in inc["arches"] and machine not in inc["arches"] \
                and _docker_arch(machine) not in inc["arches"]:
            continue
        if inc.get("minKernel") and kernel < _parse_kernel(inc["minKernel"]):
            continue
        if exc.get("caps") and set(exc["caps"]) & have:
            continue
        if exc.get("arches") and (arch in exc["arches"] or _docker_arch(machine) in exc["arches"]):
            continue
        names = list(rule.get("names") or ([rule["name"]] if rule.get("name") else []))
        if not names:
            continue
        kept = {"names": names, "action": rule["action"]}
        for key in ("args", "errnoRet"):
            if rule.get(key) is not None:
                kept[key] = rule[key]
        syscalls.append(kept)
    out["syscalls"] = syscalls
    return out


def _docker_arch(machine: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _parse_kernel(text: str) -> tuple[int, int]:
    major, _, rest = text.partition(".")
    minor = "".join(ch for ch in rest.split(".")[0] if ch.isdigit()) or "0"
    return int(major), int(minor)


def _kernel_version() -> tuple[int, int]:
    return _parse_kernel(os.uname().release)


def compile_cached(profile: dict[str, Any], cache_dir: Path) -> bytes:
    key = sha256.hexdigest(json.dumps(profile, sort_keys=True).encode())
    path = cache_dir / f"{key}.bpf"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    bpf = compile_bpf(profile)
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    import tempfile  # a miss only: every create reads the cached program (tempfile costs ~1.5 ms)

    fd, tmp = tempfile.mkstemp(dir=cache_dir)
    try:
        os.write(fd, bpf)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return bpf


def _action(sc: Any, name: str, errno_ret: int | None) -> int:
    simple = {"SCMP_ACT_ALLOW": sc.ALLOW, "SCMP_ACT_KILL": sc.KILL, "SCMP_ACT_KILL_THREAD": sc.KILL_THREAD,
              "SCMP_ACT_KILL_PROCESS": sc.KILL_PROCESS, "SCMP_ACT_LOG": sc.LOG}
    if name in simple:
        return int(simple[name])
    if name == "SCMP_ACT_ERRNO":
        return int(sc.ERRNO(1 if errno_ret is None else errno_ret))
    if name == "SCMP_ACT_TRAP":
        return int(sc.TRAP)
    if name == "SCMP_ACT_TRACE":
        return int(sc.TRACE(1 if errno_ret is None else errno_ret))
    raise RuntimeFailure(f"seccomp: unsupported action {name}")


def compile_bpf(profile: dict[str, Any]) -> bytes:
    """OCI seccomp object → classic BPF bytes (x86_64 plus the listed architectures)."""
    try:
        import pyseccomp as sc
    except ImportError:
        raise RuntimeFailure("seccomp needs the pyseccomp package (pip install pyseccomp)") from None
    default = _action(sc, profile.get("defaultAction", "SCMP_ACT_ALLOW"), profile.get("defaultErrnoRet"))
    f = sc.SyscallFilter(default)
    arch_ids = {"SCMP_ARCH_X86": sc.Arch.X86, "SCMP_ARCH_X32": sc.Arch.X32}
    for arch in profile.get("architectures") or []:
        if arch in arch_ids:
            with contextlib.suppress(OSError):
                f.add_arch(arch_ids[arch])
    for rule in profile.get("syscalls") or []:
        act = _action(sc, rule["action"], rule.get("errnoRet", profile.get("defaultErrnoRet")))
        if act == default:
            continue
        args = []
        for a in rule.get("args") or []:
            op = a["op"]
            if op not in _OPS:
                raise RuntimeFailure(f"seccomp: unknown operator {op}")
            args.append(sc.Arg(int(a["index"]), getattr(sc, op[9:]), int(a["value"]), int(a.get("valueTwo", 0))))
        for name in rule["names"]:
            try:
                f.add_rule(act, name, *args)
            except (OSError, ValueError, RuntimeError):
                continue  # a syscall this libseccomp or architecture does not know
    import tempfile

    with tempfile.TemporaryFile() as tmp:
        f.export_bpf(tmp)
        tmp.seek(0)
        return tmp.read()
