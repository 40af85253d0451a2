"""What pystack makes of a top-level volume's ``driver`` and ``driver_opts``.

Docker's local driver mounts ``device`` with ``type`` and ``o`` as given. Of that pystack does the
two mounts that need nothing but the local kernel: a bind of a host directory (``type: none``,
``o: bind``, an absolute ``device``), bound in the volume's place, and a tmpfs (``type: tmpfs``,
``o: size=…,mode=…,uid=…``), mounted over the volume's directory while containers use it. Anything
else is refused with its reason rather than silently made a plain directory: a volume meant for
NFS or a block device must not quietly fill the local disk. Checked when the file is loaded (for
the volumes a service uses, at the key's line) and read again when a container is made. Free of
pydantic: the second use is on a command's start-up path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

BIND_OPTIONS = ("bind", "rbind", "ro", "rw")
TMPFS_FLAGS = ("ro", "rw", "noexec", "exec", "nosuid", "suid", "nodev", "dev", "noatime", "atime")
_TMPFS_VALUES = {  # option -> the form the kernel's tmpfs takes
    "size": re.compile(r"^[0-9]+[kKmMgG%]?$"),
    "nr_inodes": re.compile(r"^[0-9]+[kKmMgG]?$"),
    "mode": re.compile(r"^[0-7]{3,4}$"),
    "uid": re.compile(r"^[0-9]+$"),
    "gid": re.compile(r"^[0-9]+$"),
}


class UnsupportedVolume(ValueError):
    """``key`` is where in the volume's mapping the problem is (``driver``, ``driver_opts``…)."""

    def __init__(self, key: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass(frozen=True)
class LocalMount:
    """A local volume that is a mount: ``bind`` of the host directory ``device``, or ``tmpfs``
    with mount ``options`` (``nosuid`` and ``nodev`` unless ``suid``/``dev`` were asked for)."""

    kind: str
    device: str | None = None
    read_only: bool = False
    options: tuple[str, ...] = ()


def local_mount(driver: str | None, driver_opts: Mapping[str, str]) -> LocalMount | None:
    """The mount a local volume asks for, or None for a plain directory."""
    if (driver or "local") != "local":
        raise UnsupportedVolume(("driver",), f"driver {driver!r} is not available (pystack provides the local driver)")
    if not driver_opts:
        return None
    kind = driver_opts.get("type", "none")
    options = [o.strip() for o in driver_opts.get("o", "").split(",") if o.strip()]
    if kind == "none" and not options and not driver_opts.get("device"):
        return None  # asks for no mount at all: a plain directory misdirects nothing
    if kind == "tmpfs":
        return _tmpfs(options)
    if kind != "none" or not {"bind", "rbind"} & set(options):
        raise UnsupportedVolume(("driver_opts",), f"type {kind!r} with o {driver_opts.get('o', '')!r} is not "
                                "supported: a local volume is a directory, a bind of a host directory "
                                "(type: none, o: bind, device: /absolute/path) or a tmpfs (type: tmpfs)")
    unknown = sorted(set(options) - set(BIND_OPTIONS))
    if unknown:
        raise UnsupportedVolume(("driver_opts", "o"), f"{', '.join(unknown)} not supported on a bind "
                                f"(only {', '.join(BIND_OPTIONS)})")
    device = driver_opts.get("device", "")
    if not device.startswith("/"):
        raise UnsupportedVolume(("driver_opts", "device"), f"{device!r}: a bind needs an absolute path (Docker's "
                                "local driver mounts it as given)")
    return LocalMount("bind", device=device, read_only="ro" in options)


def _tmpfs(options: list[str]) -> LocalMount:
    out: list[str] = []
    for opt in options:
        key, sep, value = opt.partition("=")
        if not sep and key in TMPFS_FLAGS:
            out.append(key)
            continue
        form = _TMPFS_VALUES.get(key)
        if form is None or not sep:
            raise UnsupportedVolume(("driver_opts", "o"), f"{opt!r} is not a tmpfs option pystack passes on (it "
                                    f"takes {', '.join(f'{k}=' for k in _TMPFS_VALUES)} and "
                                    f"{', '.join(TMPFS_FLAGS)})")
        if not form.match(value):
            raise UnsupportedVolume(("driver_opts", "o"), f"{opt!r}: not a value tmpfs takes for {key}")
        out.append(opt)
    flags = [o for o in out if "=" not in o]
    safe = [f for f, unless in (("nosuid", "suid"), ("nodev", "dev")) if unless not in flags]
    kept = [f for f in flags if f not in ("suid", "dev", "nosuid", "nodev")]
    return LocalMount("tmpfs", read_only="ro" in flags,
                      options=tuple(safe + kept + [o for o in out if "=" in o]))
