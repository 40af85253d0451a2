"""Top-level volumes' driver and driver_opts: a bind of a host directory, or an error at the key."""

from __future__ import annotations

from .helpers import errors, stack


def _with_volume(volume: dict[str, object], used: bool = True) -> dict[str, object]:
    svc: dict[str, object] = {"image": "busybox"}
    if used:
        svc["volumes"] = ["v:/data"]
    return {"services": {"a": svc}, "volumes": {"v": volume}}


def test_a_bind_and_a_plain_volume_are_accepted() -> None:
    for volume in ({"driver": "local", "driver_opts": {"type": "none", "o": "bind,ro", "device": "/srv/data"}},
                   {"driver_opts": {"type": "none"}}, {"driver": "local"}, {}):
        assert "v" in stack(_with_volume(volume)).volumes


def test_what_pystack_cannot_mount_is_an_error_at_its_key_when_used() -> None:
    cases = {
        "volumes.v.driver: driver 'rexray' is not available": {"driver": "rexray"},
        "volumes.v.driver_opts: type 'nfs' with o 'addr=10.0.0.1' is not supported": {
            "driver_opts": {"type": "nfs", "o": "addr=10.0.0.1", "device": ":/export"}},
        "volumes.v.driver_opts.o: noexec not supported on a bind": {
            "driver_opts": {"type": "none", "o": "bind,noexec", "device": "/srv"}},
        "volumes.v.driver_opts.device: './rel': a bind needs an absolute path": {
            "driver_opts": {"type": "none", "o": "bind", "device": "./rel"}},
    }
    for start, volume in cases.items():
        [line] = errors(_with_volume(volume))
        assert line.startswith(start) and line.endswith("(used by service a)"), line
        assert "v" in stack(_with_volume(volume, used=False)).volumes  # declared only: no mount asked for
