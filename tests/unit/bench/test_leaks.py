"""Before/after snapshots: what is surely ours is a leak, what may be someone else's is only reported."""

from __future__ import annotations

from pathlib import Path

from bench.leaks import Snapshot, diff

WD = Path("/tmp/psbench-abc")


def _snap(**kw: frozenset[object]) -> Snapshot:
    base: dict[str, frozenset[object]] = {"mounts": frozenset(), "links": frozenset(), "netns": frozenset(),
                                          "cgroups": frozenset(), "processes": frozenset()}
    base.update(kw)
    return Snapshot(**base)  # type: ignore[arg-type]


def test_nothing_new_is_clean() -> None:
    s = _snap(mounts=frozenset({"/"}), links=frozenset({"host:eth0"}))
    assert diff(s, s, WD) == ([], [])


def test_marked_things_are_leaks_and_others_are_foreign() -> None:
    before = _snap()
    after = _snap(mounts=frozenset({f"{WD}/pystack-root/containers/x/merged", "/tmp/pytest-1/merged"}),
                  links=frozenset({"host:ps-0123456789", "host:vethX", "psbench-docker-abc:docker0"}),
                  netns=frozenset({"psbench-podman-abc", "nt-1"}),
                  processes=frozenset({(42, 1, "pystack --root $WORKDIR/pystack-root up -d")}))
    leaks, foreign = diff(before, after, WD, ours={"ps-0123456789"})
    assert f"mount {WD}/pystack-root/containers/x/merged".replace(str(WD), "$WORKDIR") in leaks
    assert "link host:ps-0123456789" in leaks
    assert "link psbench-docker-abc:docker0" in leaks
    assert "netns psbench-podman-abc" in leaks
    assert "process 42 pystack --root $WORKDIR/pystack-root up -d" in leaks
    assert set(foreign) == {"mount /tmp/pytest-1/merged", "link host:vethX", "netns nt-1"}
