"""volumes: bind / volume / tmpfs, options, relative and ~ paths, npipe refused."""

from __future__ import annotations

import pytest

from .helpers import errors, service, service_errors


def vols(items: list[object], **kw: object) -> list[dict[str, object]]:
    svc = service({"volumes": items}, **kw)
    return [v.model_dump(exclude_defaults=True) for v in svc.volumes]


def test_relative_bind_made_absolute_with_options() -> None:
    [v] = vols(["./data:/data:ro,z"])
    assert v == {"type": "bind", "source": "/srv/proj/data", "target": "/data", "read_only": True,
                 "bind": {"selinux": "z"}}


def test_home_expanded_from_environment() -> None:
    [v] = vols(["~/conf:/conf"], environment={"HOME": "/home/u"})
    assert v["source"] == "/home/u/conf"


def test_named_volume_with_nocopy_and_anonymous() -> None:
    data = {"services": {"s": {"image": "x", "volumes": ["db:/var/lib/db:nocopy", "/cache"]}}, "volumes": {"db": {}}}
    from .helpers import stack

    v = stack(data).services["s"].volumes
    assert (v[0].type, v[0].source, v[0].volume and v[0].volume.nocopy) == ("volume", "db", True)
    assert (v[1].type, v[1].source, v[1].target) == ("volume", None, "/cache")


def test_propagation_and_rw() -> None:
    [v] = vols(["/a:/b:rw,rshared"])
    assert v["bind"] == {"propagation": "rshared"} and "read_only" not in v


def test_tmpfs_long_form_size() -> None:
    [v] = vols([{"type": "tmpfs", "target": "/run", "tmpfs": {"size": "64m", "mode": "1777"}}])
    assert v["tmpfs"] == {"size": 64 * 1024**2, "mode": 0o1777}


def test_long_bind_equals_short_bind_when_meaning_matches() -> None:
    short = service({"volumes": ["./d:/d:ro"]})
    long = service({"volumes": [{"type": "bind", "source": "./d", "target": "/d", "read_only": True,
                                 "bind": {"create_host_path": True}}]})
    assert short.volumes == long.volumes and short.config_hash() == long.config_hash()


def test_npipe_refused() -> None:
    [line] = service_errors({"volumes": [{"type": "npipe", "source": r"\\.\pipe\x", "target": "/p"}]})
    assert "services.svc.volumes[0].type" in line and "not supported on Linux" in line


@pytest.mark.parametrize(("bad", "why"), [("a:b", "must be absolute"), ("./x:/y:bogus", "unknown option"),
                                          ("db:/x:z", "unknown option"), ("a:b:c:d", "expected")])
def test_bad_short_volumes(bad: str, why: str) -> None:
    lines = service_errors({"volumes": [bad]})
    assert len(lines) == 1 and why in lines[0]


def test_undeclared_named_volume() -> None:
    lines = errors({"services": {"s": {"image": "x", "volumes": ["data:/d"]}}})
    assert lines == ["services.s.volumes[0]: named volume 'data' is used but not declared"]


def test_top_level_volume_names() -> None:
    from .helpers import stack

    s = stack({"services": {}, "volumes": {"a": None, "b": {"name": "custom"}, "c": {"external": True}}})
    assert {k: v.name for k, v in s.volumes.items()} == {"a": "proj_a", "b": "custom", "c": "c"}
