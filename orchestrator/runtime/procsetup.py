"""The process half of entering a container: limits, identity, capabilities, no_new_privs, seccomp.

Shared by a container's init and by ``exec``. Order as runc's finalizeNamespace: rlimits and
oom score while still privileged, bounding set drop, keep-caps across setuid, groups/gid/uid,
the four other capability sets, ambient raise, no_new_privs, seccomp last, then execve.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
from collections.abc import Mapping
from typing import Any

from orchestrator.runtime import caps as capnames
from orchestrator.runtime import kernel as k

RLIMITS = {name: getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")}
PERSONALITY = {"LINUX": 0x0000, "LINUX32": 0x0008}


class SetupError(Exception):
    """A process property could not be applied; the message is for the user."""


def apply_rlimits(rlimits: list[Mapping[str, Any]]) -> None:
    for r in rlimits:
        name = r["type"]
        if name not in RLIMITS:
            raise SetupError(f"unknown rlimit {name}")
        res = RLIMITS[name]
        soft, hard = int(r["soft"]), int(r["hard"])
        _, cur_hard = resource.getrlimit(res)
        if cur_hard != resource.RLIM_INFINITY and (hard > cur_hard or hard == resource.RLIM_INFINITY):
            raise SetupError(
                f"rlimit {name}: hard limit {hard} is above this host's {cur_hard} "
                "and the engine lacks CAP_SYS_RESOURCE to raise it"
            )
        try:
            resource.setrlimit(res, (soft, hard))
        except (ValueError, OSError) as exc:
            raise SetupError(f"rlimit {name} soft={soft} hard={hard}: {exc}") from None


def reset_signals() -> None:
    """Default dispositions and an empty mask: the engine ignores SIGTERM/SIGPIPE, the container must not."""
    for sig in range(1, signal.NSIG):
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            continue
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def set_oom_score_adj(value: int | None) -> None:
    if value is None:
        return
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write(str(value))


def set_personality(p: Mapping[str, Any] | None) -> None:
    if not p:
        return
    domain = p.get("domain", "LINUX")
    if domain not in PERSONALITY:
        raise SetupError(f"unknown personality domain {domain}")
    k.personality(PERSONALITY[domain])


def apply_identity_and_caps(proc: Mapping[str, Any]) -> None:
    user = proc.get("user") or {}
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    groups = [int(g) for g in user.get("additionalGids") or []]
    c = proc.get("capabilities")
    sets = {n: capnames.mask(c.get(n) or []) for n in ("bounding", "effective", "permitted", "inheritable",
                                                        "ambient")} if c is not None else None
    if sets is not None:
        for cap in range(capnames.LAST_CAP + 1):
            if not sets["bounding"] & (1 << cap):
                try:
                    k.prctl(k.PR_CAPBSET_DROP, cap)
                except OSError as exc:
                    if exc.errno != 22:  # EINVAL: the running kernel does not know this cap
                        raise
    k.prctl(k.PR_SET_KEEPCAPS, 1)
    os.setgroups(groups)
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    k.prctl(k.PR_SET_KEEPCAPS, 0)
    if sets is not None:
        k.capset(sets["effective"], sets["permitted"], sets["inheritable"])
        k.prctl(k.PR_CAP_AMBIENT, k.PR_CAP_AMBIENT_CLEAR_ALL)
        for cap in range(capnames.LAST_CAP + 1):
            # The kernel refuses an ambient cap missing from the inheritable set; runc and crun skip it too.
            if sets["ambient"] & sets["inheritable"] & sets["permitted"] & (1 << cap):
                k.prctl(k.PR_CAP_AMBIENT, k.PR_CAP_AMBIENT_RAISE, cap)


def make_cwd(cwd: str) -> None:
    """Create a missing working directory (root's, 0755) in the container's root, as runc and
    Docker do: a service's ``working_dir`` need not exist in its image. Any failure is left to
    :func:`chdir_inside`, which reports it after the identity change, as it always did."""
    if os.path.isdir(cwd):
        return
    with contextlib.suppress(OSError):
        os.makedirs(cwd, mode=0o755, exist_ok=True)


def chdir_inside(cwd: str) -> None:
    """chdir, then prove the cwd is reachable from the container root (CVE-2024-21626)."""
    try:
        os.chdir(cwd)
    except OSError as exc:
        raise SetupError(f"cwd {cwd}: {exc.strerror}") from None
    here = os.getcwd()
    if not here.startswith("/") or here.startswith("(unreachable)"):
        raise SetupError(f"cwd {cwd} is outside the container root")


def finalize_and_exec(proc: Mapping[str, Any], seccomp_bpf: bytes | None, before_exec: Any = None,
                      path: str | None = None) -> None:
    """no_new_privs, the start gate, seccomp (when no_new_privs allows it this late), execve."""
    if proc.get("noNewPrivileges"):
        k.prctl(k.PR_SET_NO_NEW_PRIVS, 1)
    if before_exec is not None:
        before_exec()
    env = dict(e.split("=", 1) for e in proc.get("env") or [])
    args = list(proc["args"])
    if path is None:
        path = lookup(proc)
    if seccomp_bpf is not None:
        load_seccomp(seccomp_bpf)
    try:
        os.execve(path, args, env)
    except OSError as exc:
        raise SetupError(f"exec {args[0]}: {exc.strerror}") from None


def load_seccomp(bpf: bytes) -> None:
    """Without no_new_privs the kernel requires CAP_SYS_ADMIN, so callers load it before dropping caps."""
    try:
        k.seccomp_load_bpf(bpf)
    except OSError as exc:
        raise SetupError(f"seccomp: cannot load the filter: {exc.strerror}") from None


def lookup(proc: Mapping[str, Any]) -> str:
    """The program's path, searched in the process's PATH inside the container (after pivot_root)."""
    env = dict(e.split("=", 1) for e in proc.get("env") or [])
    return _lookup(proc["args"][0], env.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))


def _lookup(name: str, search: str) -> str:
    if "/" in name:
        return name
    for d in search.split(":"):
        cand = os.path.join(d or ".", name)
        if os.access(cand, os.X_OK) and not os.path.isdir(cand):
            return cand
    raise SetupError(f"exec {name}: not found in PATH")


def lsm_enabled(name: str) -> bool:
    """Whether the host kernel enforces AppArmor or SELinux (read on the host, before pivot_root)."""
    if name == "apparmor":
        try:
            with open("/sys/module/apparmor/parameters/enabled") as fh:
                return fh.read().strip() == "Y"
        except OSError:
            return False
    return os.path.exists("/sys/fs/selinux/enforce")


def set_exec_labels(proc: Mapping[str, Any]) -> None:
    """Ask the LSM to confine the next execve (what runc does); checked against the host at create."""
    if proc.get("apparmorProfile"):
        _write_attr(["/proc/thread-self/attr/apparmor/exec", "/proc/thread-self/attr/exec"],
                    f"exec {proc['apparmorProfile']}")
    if proc.get("selinuxLabel"):
        _write_attr(["/proc/thread-self/attr/exec"], proc["selinuxLabel"])


def _write_attr(candidates: list[str], value: str) -> None:
    last: OSError | None = None
    for path in candidates:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as exc:
            last = exc
            continue
        try:
            os.write(fd, value.encode())
            return
        except OSError as exc:
            raise SetupError(f"security label {value!r}: {exc.strerror}") from None
        finally:
            os.close(fd)
    raise SetupError(f"security label {value!r}: {last.strerror if last else 'no attr file'}")
