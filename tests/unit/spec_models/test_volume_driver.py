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


def test_a_tmpfs_volume_gets_its_options_and_safe_defaults() -> None:
    from orchestrator.spec.volume_driver import LocalMount, local_mount

    assert local_mount("local", {"type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000,mode=0750"}) == \
        LocalMount("tmpfs", options=("nosuid", "nodev", "size=100m", "uid=1000", "mode=0750"))
    assert local_mount(None, {"type": "tmpfs", "o": "suid,ro,noexec,size=50%"}) == \
        LocalMount("tmpfs", read_only=True, options=("nodev", "ro", "noexec", "size=50%"))
    assert "v" in stack(_with_volume({"driver_opts": {"type": "tmpfs", "device": "tmpfs"}})).volumes


def test_a_tmpfs_option_pystack_does_not_pass_on_is_an_error_at_its_key() -> None:
    for o, why in (("size=lots", "'size=lots': not a value tmpfs takes for size"),
                   ("huge=always", "'huge=always' is not a tmpfs option pystack passes on"),
                   ("uid=root", "'uid=root': not a value tmpfs takes for uid"),
                   ("mode=999", "'mode=999': not a value tmpfs takes for mode")):
        [line] = errors(_with_volume({"driver_opts": {"type": "tmpfs", "o": o}}))
        assert line.startswith(f"volumes.v.driver_opts.o: {why}"), line
