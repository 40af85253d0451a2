"""A fake cgroup2 kernel over a plain directory tree, because this host has no cgroup2 controllers.

The real cgroup2 mount here (/sys/fs/cgroup/unified) delegates none, so memory.max, cpu.max, io.max
and friends cannot be written for real. This stands in for the kernel behind the driver's
:class:`~orchestrator.cgroups.fs.CgroupFS`: the files are real files under ``tmp_path`` with the
names and initial contents cgroup2 gives them, and writes get the kernel's reactions — mkdir makes
the interface files of the parent's enabled controllers, ``+ctrl`` in subtree_control is refused
unless the parent has it, cgroup.procs moves a pid out of every other cgroup, cgroup.freeze flips
``frozen`` in cgroup.events, cgroup.kill SIGKILLs the (real) member processes, io.max merges keys
per device, limits refuse non-numbers, rmdir refuses a populated cgroup or one with children.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
from pathlib import Path

from orchestrator.errors import CgroupError

ALL = ("cpuset", "cpu", "io", "memory", "hugetlb", "pids")

CORE = {
    "cgroup.controllers": "",
    "cgroup.subtree_control": "",
    "cgroup.procs": "",
    "cgroup.threads": "",
    "cgroup.type": "domain",
    "cgroup.events": "populated 0\nfrozen 0\n",
    "cgroup.freeze": "0",
    "cgroup.kill": "",
    "cgroup.max.depth": "max",
    "cgroup.max.descendants": "max",
    "cgroup.stat": "nr_descendants 0\nnr_dying_descendants 0\n",
    "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
}
PER_CONTROLLER = {
    "memory": {
        "memory.current": "0", "memory.min": "0", "memory.low": "0", "memory.high": "max", "memory.max": "max",
        "memory.peak": "0", "memory.swap.current": "0", "memory.swap.max": "max", "memory.oom.group": "0",
        "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n", "memory.stat": "",
    },
    "cpu": {"cpu.weight": "100", "cpu.weight.nice": "0", "cpu.max": "max 100000", "cpu.max.burst": "0",
            "cpu.idle": "0"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": "", "cpuset.cpus.effective": "0-1", "cpuset.mems.effective": "0"},
    "io": {"io.max": "", "io.stat": "", "io.weight": "default 100"},
    "pids": {"pids.max": "max", "pids.current": "0", "pids.events": "max 0"},
    "hugetlb": {"hugetlb.2MB.max": "max", "hugetlb.2MB.current": "0", "hugetlb.1GB.max": "max",
                "hugetlb.1GB.current": "0"},
}
READ_ONLY = {"cgroup.controllers", "cgroup.events", "cgroup.stat", "cpu.stat", "memory.current", "memory.events",
             "memory.stat", "memory.swap.current", "io.stat", "pids.current", "pids.events",
             "cpuset.cpus.effective", "cpuset.mems.effective", "hugetlb.2MB.current", "hugetlb.1GB.current"}
LIMITS = {"memory.max", "memory.high", "memory.low", "memory.min", "memory.swap.max", "pids.max",
          "hugetlb.2MB.max", "hugetlb.1GB.max"}


def _fail(path: Path, value: str, code: int) -> CgroupError:
    return CgroupError(f"cannot write {value!r} to {path}: {os.strerror(code)}")


def _alive(pid: int) -> bool:
    """Like the kernel, a member that has exited (even as an unreaped zombie) leaves cgroup.procs."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class FakeCgroup2:
    def __init__(self, root: Path, controllers: tuple[str, ...] = ALL, *, has_kill: bool = True) -> None:
        self.root = root
        self.has_kill = has_kill
        self.device_filters: dict[Path, list[bytes]] = {}
        root.mkdir(parents=True, exist_ok=True)
        for name in ("cgroup.controllers", "cgroup.subtree_control", "cgroup.procs", "cgroup.threads",
                     "cgroup.max.depth", "cgroup.stat", "cpu.stat"):
            (root / name).write_text(CORE[name])
        (root / "cgroup.controllers").write_text(" ".join(controllers))

    # -- helpers the tests use to play the kernel's counters ---------------------------------
    def set(self, rel: str, name: str, content: str) -> None:
        (self.root / rel / name).write_text(content)

    def _is_cgroup(self, d: Path) -> bool:
        return (d / "cgroup.procs").is_file()

    def _children(self, d: Path) -> list[Path]:
        return [c for c in d.iterdir() if c.is_dir() and self._is_cgroup(c)]

    def _members(self, d: Path) -> list[int]:
        return [int(x) for x in (d / "cgroup.procs").read_text().split() if _alive(int(x))]

    def _set_events(self, d: Path, **kw: int) -> None:
        events = dict(line.split() for line in (d / "cgroup.events").read_text().splitlines())
        events.update({k: str(v) for k, v in kw.items()})
        (d / "cgroup.events").write_text("".join(f"{k} {v}\n" for k, v in events.items()))

    def _sync_controllers(self, d: Path) -> None:
        """A child's interface files follow its parent's subtree_control."""
        enabled = (d.parent / "cgroup.subtree_control").read_text().split()
        (d / "cgroup.controllers").write_text(" ".join(enabled))
        for ctrl, files in PER_CONTROLLER.items():
            for name, initial in files.items():
                f = d / name
                if ctrl in enabled and not f.exists():
                    f.write_text(initial)
                elif ctrl not in enabled and f.exists():
                    f.unlink()

    # -- CgroupFS ------------------------------------------------------------------------------
    def exists(self, path: Path) -> bool:
        return path.exists()

    def listdir(self, path: Path) -> list[str]:
        return os.listdir(path) if path.is_dir() else []

    def read(self, path: Path) -> str:
        if not path.is_file():
            raise CgroupError(f"cannot read {path}: {os.strerror(errno.ENOENT)}")
        if path.name == "cgroup.procs":
            return "".join(f"{p}\n" for p in self._members(path.parent))
        if path.name == "cgroup.events" and path.parent != self.root:
            self._set_events(path.parent, populated=int(bool(self._members(path.parent))))
        return path.read_text()

    def mkdir(self, path: Path) -> bool:
        if path.exists():
            return False
        if not self._is_cgroup(path.parent):
            raise CgroupError(f"cannot create cgroup {path}: {os.strerror(errno.ENOENT)}")
        path.mkdir()
        for name, initial in CORE.items():
            if name != "cgroup.kill" or self.has_kill:
                (path / name).write_text(initial)
        self._sync_controllers(path)
        return True

    def attach_device_filter(self, path: Path, program: bytes) -> None:
        """The kernel keeps the program with the cgroup; the fake keeps it for the test to read
        (the program's behaviour is tested on the host's real cgroup2 mount)."""
        if not self._is_cgroup(path):
            raise CgroupError(f"device rules for {path}: cannot attach the filter: {os.strerror(errno.EBADF)}")
        self.device_filters.setdefault(path, []).append(program)

    def rmdir(self, path: Path) -> bool:
        if not path.exists():
            return False
        if self._children(path) or self._members(path):
            return False  # EBUSY
        shutil.rmtree(path)
        return True

    def write(self, path: Path, value: str) -> None:
        d, name = path.parent, path.name
        if not path.is_file():
            raise CgroupError(f"cannot open {path} for writing: {os.strerror(errno.ENOENT)}")
        if name in READ_ONLY:
            raise CgroupError(f"cannot open {path} for writing: {os.strerror(errno.EACCES)}")
        handler = getattr(self, "_w_" + name.replace(".", "_"), None)
        if handler is not None:
            handler(d, path, value.strip())
        elif name in LIMITS:
            if value.strip() != "max" and not value.strip().isdigit():
                raise _fail(path, value, errno.EINVAL)
            path.write_text(value.strip())
        else:
            path.write_text(value.strip())

    def _w_cgroup_subtree_control(self, d: Path, path: Path, value: str) -> None:
        have = set((d / "cgroup.controllers").read_text().split())
        enabled = path.read_text().split()
        for tok in value.split():
            ctrl = tok[1:]
            if tok[0] not in "+-" or ctrl not in have:
                raise _fail(path, value, errno.EINVAL)
            if d != self.root and tok[0] == "+" and self._members(d):
                raise _fail(path, value, errno.EBUSY)  # no internal processes
            if tok[0] == "+" and ctrl not in enabled:
                enabled.append(ctrl)
            elif tok[0] == "-" and ctrl in enabled:
                enabled.remove(ctrl)
        path.write_text(" ".join(c for c in ALL if c in enabled))
        for child in self._children(d):
            self._sync_controllers(child)

    def _w_cgroup_procs(self, d: Path, path: Path, value: str) -> None:
        pid = int(value) if value.isdigit() else -1
        if not _alive(pid):
            raise _fail(path, value, errno.ESRCH)
        if d != self.root and path.parent.joinpath("cgroup.subtree_control").read_text().split():
            raise _fail(path, value, errno.EBUSY)
        for procs in self.root.rglob("cgroup.procs"):
            pids = [p for p in procs.read_text().split() if p != str(pid)]
            procs.write_text("".join(f"{p}\n" for p in pids))
        path.write_text(path.read_text() + f"{pid}\n")
        self._set_events(d, populated=1)

    def _w_cgroup_freeze(self, d: Path, path: Path, value: str) -> None:
        if value not in ("0", "1") or d == self.root:
            raise _fail(path, value, errno.EINVAL)
        path.write_text(value)
        self._set_events(d, frozen=int(value))

    def _w_cgroup_kill(self, d: Path, path: Path, value: str) -> None:
        if value != "1":
            raise _fail(path, value, errno.ERANGE)
        for pid in self._members(d):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        (d / "cgroup.procs").write_text("")
        self._set_events(d, populated=0)

    def _w_cpu_weight(self, d: Path, path: Path, value: str) -> None:
        if not value.isdigit() or not 1 <= int(value) <= 10_000:
            raise _fail(path, value, errno.ERANGE)
        path.write_text(value)

    def _w_cpu_max(self, d: Path, path: Path, value: str) -> None:
        parts = value.split()
        old_period = path.read_text().split()[1]
        if not parts or len(parts) > 2 or (parts[0] != "max" and not parts[0].isdigit()):
            raise _fail(path, value, errno.EINVAL)
        period = parts[1] if len(parts) == 2 else old_period
        path.write_text(f"{parts[0]} {period}")

    def _w_io_max(self, d: Path, path: Path, value: str) -> None:
        dev, *fields = value.split()
        keys = {"rbps": "max", "wbps": "max", "riops": "max", "wiops": "max"}
        lines = {ln.split()[0]: ln for ln in path.read_text().splitlines() if ln.strip()}
        if dev in lines:
            keys.update(f.split("=") for f in lines[dev].split()[1:])
        for f in fields:
            k, _, v = f.partition("=")
            if k not in keys or not (v == "max" or v.isdigit()):
                raise _fail(path, value, errno.EINVAL)
            keys[k] = v
        if all(v == "max" for v in keys.values()):
            lines.pop(dev, None)
        else:
            lines[dev] = dev + " " + " ".join(f"{k}={v}" for k, v in keys.items())
        path.write_text("".join(f"{ln}\n" for ln in lines.values()))

    def _w_io_weight(self, d: Path, path: Path, value: str) -> None:
        parts = value.split()
        entries = dict(ln.split() for ln in path.read_text().splitlines() if ln.strip())
        key, weight = ("default", parts[0]) if len(parts) == 1 else (parts[0], parts[1])
        if not weight.isdigit() or not 1 <= int(weight) <= 10_000:
            raise _fail(path, value, errno.ERANGE)
        entries[key] = weight
        path.write_text("".join(f"{k} {v}\n" for k, v in entries.items()))
