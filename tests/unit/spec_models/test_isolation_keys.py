"""ipc, pid, uts, userns_mode, cgroup_parent, devices, device_cgroup_rules, group_add, volumes_from:
a value pystack could not apply exactly is an error naming the key, never passed on."""

from __future__ import annotations

from .helpers import service, service_errors, stack


def test_accepted_values() -> None:
    s = stack({"services": {
        "a": {"image": "x", "ipc": "shareable", "pid": "host", "uts": "host", "userns_mode": "host",
              "cgroup_parent": "/pystack/sub", "group_add": ["audio", "4242"],
              "device_cgroup_rules": ["c 1:3 rwm", "b *:* m", "a *:* r"], "devices": ["/dev/fuse:/dev/f:r"]},
        "b": {"image": "x", "ipc": "service:a", "pid": "container:other", "volumes_from": ["a:ro", "container:c:rw"]},
        "c": {"image": "x", "ipc": "none"},
    }})
    a, b = s.services["a"], s.services["b"]
    assert s.services["c"].ipc == "none"
    assert (a.ipc, a.pid, a.uts, a.userns_mode) == ("shareable", "host", "host", "host")
    assert (a.cgroup_parent, a.group_add) == ("/pystack/sub", ["audio", "4242"])
    assert (b.ipc, b.pid, b.volumes_from) == ("service:a", "container:other", ["a:ro", "container:c:rw"])


def test_bad_modes() -> None:
    lines = service_errors({"ipc": "nope", "pid": "private", "uts": "private", "userns_mode": "remap"})
    assert ('services.svc.ipc: invalid value "nope": must be host, shareable, private, none, service:NAME or '
            'container:NAME') in lines
    assert 'services.svc.pid: invalid value "private": must be host, service:NAME or container:NAME' in lines
    assert any(line.startswith('services.svc.uts: invalid value "private": must be host') for line in lines)
    assert any(line.startswith('services.svc.userns_mode: invalid value "remap": must be host') for line in lines)


def test_hostname_with_host_uts() -> None:
    assert service_errors({"uts": "host", "hostname": "h"}) == [
        "services.svc.hostname: cannot be set with uts: host (the container uses the host's name)"]


def test_shm_size_with_no_ipc() -> None:
    assert service_errors({"ipc": "none", "shm_size": "64m"}) == [
        "services.svc.shm_size: cannot be set with ipc: none (the container has no /dev/shm)"]
    assert service({"ipc": "private", "shm_size": "64m"}).resources.shm_size == 64 * 1024 * 1024


def test_cgroup_parent_cannot_climb() -> None:
    for bad in ("../escape", "a/../../b", "/"):
        assert service_errors({"cgroup_parent": bad}) == [
            f'services.svc.cgroup_parent: invalid cgroup parent "{bad}": a path with no ".." part']


def test_device_rules_devices_groups_volumes_from() -> None:
    lines = service_errors({"device_cgroup_rules": ["c 1:3", "x 1:3 rwm", "c 1:3 rwx"],
                            "devices": ["vendor.com/gpu=all", {"source": "/dev/null", "target": "null"},
                                        {"source": "/dev/null", "target": "/dev/n", "permissions": "rx"}],
                            "group_add": ["a:b"], "volumes_from": ["x:rx", "container:"]})
    for i, rule in enumerate(("c 1:3", "x 1:3 rwm", "c 1:3 rwx")):
        assert f'services.svc.device_cgroup_rules[{i}]: invalid rule "{rule}": expected "TYPE MAJOR:MINOR ACCESS", ' \
               'e.g. "c 1:3 rwm"' in lines
    assert 'services.svc.devices[0]: invalid device "vendor.com/gpu=all": an absolute host path ' \
           '(CDI device names are not supported)' in lines
    assert 'services.svc.devices[1]: invalid device target "null": an absolute path in the container' in lines
    assert 'services.svc.devices[2]: invalid device permissions "rx": made of r, w and m' in lines
    assert 'services.svc.group_add[0]: invalid group "a:b": a group name or number' in lines
    assert 'services.svc.volumes_from[0]: invalid entry "x:rx": expected SERVICE[:ro|rw] or container:NAME[:ro|rw]' \
        in lines
    assert any(line.startswith("services.svc.volumes_from[1]: invalid entry") for line in lines)


def test_the_keys_change_the_config_hash() -> None:
    base = service({}).config_hash()
    for key, value in (("group_add", ["1"]), ("ipc", "host"), ("pid", "host"), ("uts", "host"),
                       ("devices", ["/dev/null"]), ("device_cgroup_rules", ["c 1:3 r"]),
                       ("cgroup_parent", "p"), ("userns_mode", "host")):
        assert service({key: value}).config_hash() != base, key
