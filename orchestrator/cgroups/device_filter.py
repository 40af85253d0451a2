"""Device rules on cgroup2: an eBPF program attached to the container's cgroup.

cgroup v1 has a ``devices`` controller with allow and deny files. cgroup2 has none: the kernel
asks the ``BPF_PROG_TYPE_CGROUP_DEVICE`` programs attached to a cgroup (and its ancestors) whether
a process in it may create (mknod) or open a device node. Without one, a container with
CAP_MKNOD (in Docker's default set) could make a node for the host's disk and open it. So the OCI
``linux.resources.devices`` list becomes such a program, with the v1 controller's meaning: rules
are read in order and the last one that matches a request decides; nothing matching denies.

:func:`program` is pure (rules → instructions) and tested on its own; :func:`attach` makes the two
``bpf()`` calls. The program stays attached to the cgroup after its descriptors are closed and goes
with the cgroup when it is removed.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestrator.errors import CgroupError

# struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; }
_TYPES = {"b": 1, "c": 2}  # BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR
_ACCESS = {"m": 1, "r": 2, "w": 4}  # BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

# opcodes (linux/bpf_common.h, linux/bpf.h)
_LDX_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
_AND_K = 0x54  # BPF_ALU | BPF_AND | BPF_K (32 bits)
_RSH_K = 0x74  # BPF_ALU | BPF_RSH | BPF_K
_MOV_X = 0xBC  # BPF_ALU | BPF_MOV | BPF_X
_MOV64_K = 0xB7  # BPF_ALU64 | BPF_MOV | BPF_K
_JNE_K = 0x55  # BPF_JMP | BPF_JNE | BPF_K
_JNE_X = 0x5D  # BPF_JMP | BPF_JNE | BPF_X
_EXIT = 0x95

_PROG_TYPE_CGROUP_DEVICE = 15
_ATTACH_CGROUP_DEVICE = 6
_F_ALLOW_MULTI = 2  # ancestors' programs still run: the container's cannot widen what they allow
_PROG_LOAD, _PROG_ATTACH = 5, 8
_SYS_BPF = {"x86_64": 321, "aarch64": 280, "ppc64le": 361, "s390x": 351, "riscv64": 280}

# registers after the prologue: r2 device type, r3 requested access, r4 major, r5 minor; r1 scratch
_TYPE, _ACC, _MAJOR, _MINOR, _SCRATCH = 2, 3, 4, 5, 1


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _rule(rule: Mapping[str, Any]) -> tuple[int | None, int | None, int | None, int, bool]:
    """(type, major, minor, access mask, allow); None stands for "any". Same checks and messages as
    the v1 plan, so a bad rule reads the same on either kind of host."""
    kind = rule.get("type", "a") or "a"
    if kind not in ("a", "b", "c"):
        raise CgroupError(f"linux.resources.devices.type: {kind!r} is not a, b or c")
    ids: list[int | None] = []
    for key in ("major", "minor"):
        value = rule.get(key)
        if value in (None, -1):
            ids.append(None)
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            ids.append(value)
        else:
            raise CgroupError(f"linux.resources.devices.{key}: expected a number, got {value!r}")
    access = rule.get("access") or "rwm"
    if not isinstance(access, str) or not access or set(access) - set("rwm"):
        raise CgroupError(f"linux.resources.devices.access: {access!r} is not made of r, w, m")
    mask = sum(_ACCESS[c] for c in set(access))
    return (_TYPES.get(kind), ids[0], ids[1], mask, bool(rule.get("allow")))


def program(rules: Sequence[Mapping[str, Any]]) -> bytes:
    """The instructions deciding each request as the v1 controller would under ``rules``.

    The rules are emitted last first, each returning its verdict when it matches, so the first
    match found is the last one listed; the end denies."""
    parsed = [_rule(r) for r in rules]
    code = [
        _insn(_LDX_W, _TYPE, 1, 0), _insn(_AND_K, _TYPE, imm=0xFFFF),
        _insn(_LDX_W, _ACC, 1, 0), _insn(_RSH_K, _ACC, imm=16),
        _insn(_LDX_W, _MAJOR, 1, 4), _insn(_LDX_W, _MINOR, 1, 8),
    ]
    for kind, major, minor, mask, allow in reversed(parsed):
        tests: list[list[bytes]] = []  # each test ends in a jump past this rule when it fails
        if kind is not None:
            tests.append([_insn(_JNE_K, _TYPE, imm=kind)])
        if mask != 7:  # the request must ask for nothing the rule leaves out
            tests.append([_insn(_MOV_X, _SCRATCH, _ACC), _insn(_AND_K, _SCRATCH, imm=mask),
                          _insn(_JNE_X, _SCRATCH, _ACC)])
        if major is not None:
            tests.append([_insn(_JNE_K, _MAJOR, imm=major)])
        if minor is not None:
            tests.append([_insn(_JNE_K, _MINOR, imm=minor)])
        verdict = [_insn(_MOV64_K, 0, imm=1 if allow else 0), _insn(_EXIT)]
        if not tests:  # matches every request: what comes after could never run (the verifier refuses that)
            return b"".join(code + verdict)
        flat = [i for t in tests for i in t]
        block: list[bytes] = []
        for i, ins in enumerate(flat):
            left = len(flat) - i - 1 + len(verdict)  # instructions after this one in the block
            if ins[0] in (_JNE_K, _JNE_X):
                ins = ins[:2] + struct.pack("<h", left) + ins[4:]
            block.append(ins)
        code += block + verdict
    code += [_insn(_MOV64_K, 0, imm=0), _insn(_EXIT)]
    return b"".join(code)


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    number = _SYS_BPF.get(platform.machine())
    if number is None:
        raise CgroupError(f"device rules on cgroup2: no bpf() system call number for {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    ret = int(libc.syscall(number, cmd, attr, len(attr)))
    if ret < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return ret


def attach(cgroup_dir: Path, code: bytes) -> None:
    """Load ``code`` and attach it to the cgroup at ``cgroup_dir``."""
    insns = ctypes.create_string_buffer(code, len(code))
    license_ = ctypes.create_string_buffer(b"Apache-2.0")
    load = ctypes.create_string_buffer(128)  # union bpf_attr; the kernel wants the unused tail zeroed
    struct.pack_into("<IIQQ", load, 0, _PROG_TYPE_CGROUP_DEVICE, len(code) // 8, ctypes.addressof(insns),
                     ctypes.addressof(license_))
    try:
        prog = _bpf(_PROG_LOAD, load)
    except OSError as exc:
        raise CgroupError(f"device rules for {cgroup_dir}: the kernel refused the filter: {exc.strerror}") from None
    try:
        target = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            req = ctypes.create_string_buffer(128)
            struct.pack_into("<IIII", req, 0, target, prog, _ATTACH_CGROUP_DEVICE, _F_ALLOW_MULTI)
            _bpf(_PROG_ATTACH, req)
        finally:
            os.close(target)
    except OSError as exc:
        raise CgroupError(f"device rules for {cgroup_dir}: cannot attach the filter: {exc.strerror}") from None
    finally:
        os.close(prog)
