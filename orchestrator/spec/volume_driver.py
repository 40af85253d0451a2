"""What pystack makes of a top-level volume's ``driver`` and ``driver_opts``.

Docker's local driver mounts ``device`` with ``type`` and ``o`` as given. Of that pystack does the
usual bind of a host directory (``type: none``, ``o: bind``, an absolute ``device``), bound in the
volume's place, and refuses anything else with its reason rather than silently making it a plain
directory: a volume meant for NFS or a block device must not quietly fill the local disk. Checked
when the file is loaded (for the volumes a service uses, at the key's line) and read again when a
container is made. Free of pydantic: the second use is on a command's start-up path.
"""

from __future__ import annotations

from collections.abc import Mapping

BIND_OPTIONS = ("bind", "rbind", "ro", "rw")


class UnsupportedVolume(ValueError):
    """``key`` is where in the volume's mapping the problem is (``driver``, ``driver_opts``…)."""

    def __init__(self, key: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def bind_device(driver: str | None, driver_opts: Mapping[str, str]) -> tuple[str | None, bool]:
    """``(device, read_only)``, or ``(None, False)`` for a plain local volume."""
    if (driver or "local") != "local":
        raise UnsupportedVolume(("driver",), f"driver {driver!r} is not available (pystack provides the local driver)")
    if not driver_opts:
        return None, False
    kind = driver_opts.get("type", "none")
    options = [o.strip() for o in driver_opts.get("o", "").split(",") if o.strip()]
    if kind == "none" and not options and not driver_opts.get("device"):
        return None, False  # asks for no mount at all: a plain directory misdirects nothing
    if kind != "none" or not {"bind", "rbind"} & set(options):
        raise UnsupportedVolume(("driver_opts",), f"type {kind!r} with o {driver_opts.get('o', '')!r} is not "
                                "supported: a local volume is a directory, or a bind of a host directory "
                                "(type: none, o: bind, device: /absolute/path)")
    unknown = sorted(set(options) - set(BIND_OPTIONS))
    if unknown:
        raise UnsupportedVolume(("driver_opts", "o"), f"{', '.join(unknown)} not supported on a bind "
                                f"(only {', '.join(BIND_OPTIONS)})")
    device = driver_opts.get("device", "")
    if not device.startswith("/"):
        raise UnsupportedVolume(("driver_opts", "device"), f"{device!r}: a bind needs an absolute path (Docker's "
                                "local driver mounts it as given)")
    return device, "ro" in options
