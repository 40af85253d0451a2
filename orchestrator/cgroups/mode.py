"""Which cgroup hierarchies the host has mounted, read from mountinfo rather than guessed.

``v1``: only legacy per-controller hierarchies; ``hybrid``: those plus a cgroup2 mount (usually
``unified``) holding few or no controllers; ``unified``: cgroup2 mounted at the root itself. When
``fs_root`` is not a mount point at all (a test tree in a temp dir) the layout of files decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.cgroups.fs import HOST_FS, CgroupFS
from orchestrator.cgroups.types import Mode

DEFAULT_ROOT = Path("/sys/fs/cgroup")
MOUNTINFO = Path("/proc/self/mountinfo")

# Legacy controllers we drive; "name=systemd" and friends are not controllers.
V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "freezer", "devices", "hugetlb")


@dataclass(frozen=True)
class Layout:
    """Where each hierarchy lives: v1 controller → mount dir, and the cgroup2 mount if any."""

    mode: Mode
    v1: dict[str, Path]
    unified: Path | None


def _unescape(field: str) -> str:
    # mountinfo octal-escapes space, tab, newline and backslash.
    return field.encode().decode("unicode_escape") if "\\" in field else field


def parse_mountinfo(text: str, fs_root: Path) -> Layout | None:
    """The layout of cgroup mounts at or below ``fs_root``; None when there are none."""
    v1: dict[str, Path] = {}
    unified: Path | None = None
    root_is_v2 = False
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        rfields = right.split()
        # Every container adds mounts of its own: the type is looked at before any path is built,
        # so that reading the layout stays cheap on a host that runs many of them.
        if len(rfields) < 3 or rfields[0] not in ("cgroup", "cgroup2"):
            continue
        fields = left.split()
        if len(fields) < 5:
            continue
        mount_point = Path(_unescape(fields[4]))
        fstype, super_opts = rfields[0], rfields[2]
        if mount_point != fs_root and fs_root not in mount_point.parents:
            continue
        if fstype == "cgroup2":
            unified = mount_point
            root_is_v2 = mount_point == fs_root
        elif fstype == "cgroup":
            for opt in super_opts.split(","):
                if opt in V1_CONTROLLERS:
                    v1[opt] = mount_point
    if root_is_v2:
        return Layout("unified", {}, unified)
    if not v1 and unified is None:
        return None
    return Layout("hybrid" if unified is not None else "v1", v1, unified)


def scan_tree(fs_root: Path, fs: CgroupFS = HOST_FS) -> Layout:
    """The layout judged by files alone, for trees that are not mounted (tests)."""
    if fs.exists(fs_root / "cgroup.controllers"):
        return Layout("unified", {}, fs_root)
    v1: dict[str, Path] = {}
    for name in fs.listdir(fs_root):
        for ctrl in name.split(","):
            if ctrl in V1_CONTROLLERS and fs.exists(fs_root / name / "cgroup.procs"):
                v1.setdefault(ctrl, fs_root / name)
    unified = fs_root / "unified"
    if fs.exists(unified / "cgroup.controllers"):
        return Layout("hybrid", v1, unified)
    return Layout("v1", v1, None)


_HOST_LAYOUT: list[Layout] = []  # the host's, read once per process


def layout(fs_root: Path = DEFAULT_ROOT, *, mountinfo: Path = MOUNTINFO, fs: CgroupFS = HOST_FS) -> Layout:
    """The layout at ``fs_root``. The host's is read once per process: its hierarchies are mounted at
    boot and never move, while every container adds lines to mountinfo that a create or delete
    would otherwise read through again."""
    host = fs_root == DEFAULT_ROOT and mountinfo == MOUNTINFO and fs is HOST_FS
    if host and _HOST_LAYOUT:
        return _HOST_LAYOUT[0]
    found = _read_layout(fs_root, mountinfo, fs)
    if host:
        _HOST_LAYOUT[:] = [found]
    return found


def _read_layout(fs_root: Path, mountinfo: Path, fs: CgroupFS) -> Layout:
    try:
        text = mountinfo.read_text()
    except OSError:
        text = ""
    found = parse_mountinfo(text, fs_root)
    return found if found is not None else scan_tree(fs_root, fs)


def detect_mode(fs_root: Path = DEFAULT_ROOT, *, mountinfo: Path = MOUNTINFO) -> Mode:
    """``v1``, ``hybrid`` or ``unified`` for the hierarchies mounted at ``fs_root``."""
    return layout(fs_root, mountinfo=mountinfo).mode
