"""``RUN --mount`` values, and taking the mount points a step's root lacked back out of its layer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.errors import ImageError
from orchestrator.images.build.parser import parse
from orchestrator.images.build.run_mounts import drop_mount_points, parse_mount


def test_parse_mount_values() -> None:
    m = parse_mount("type=cache,target=.cache,id=pip,sharing=locked,mode=0700,uid=1000,gid=1000", "/app", "RUN")
    assert (m.type, m.target, m.id, m.sharing, m.mode, m.uid, m.gid) == ("cache", "/app/.cache", "pip", "locked",
                                                                          0o700, 1000, 1000)
    b = parse_mount("source=src,target=/mnt,from=build,rw", "/", "RUN")
    assert (b.type, b.source, b.from_, b.readonly) == ("bind", "src", "build", False)  # bind is the default type
    s = parse_mount("type=secret,id=npmrc", "/", "RUN")
    assert (s.target, s.required) == ("/run/secrets/npmrc", False)
    t = parse_mount("type=tmpfs,dst=/tmp/x,size=10m", "/", "RUN")
    assert (t.target, t.size) == ("/tmp/x", 10 * 1024 * 1024)
    for bad, why in (("type=cache", "needs a target"), ("type=cache,target=/", "whole root"),
                     ("type=bind,target=/x,sharing=all", "sharing=all"), ("type=cache,target=/x,mode=9z", "mode")):
        with pytest.raises(ImageError, match=why):
            parse_mount(bad, "/", "RUN")


def test_the_parser_keeps_every_mount_flag() -> None:
    df = parse("FROM scratch\nRUN --network=none --mount=type=cache,target=/a --mount=type=tmpfs,target=/b true\n")
    run = df.stages[0].instructions[0]
    assert run.flags == {"network": "none"} and run.mounts == ["type=cache,target=/a", "type=tmpfs,target=/b"]
    assert run.rest == "true"


def test_drop_mount_points_removes_only_what_was_made_and_left_empty(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "var" / "cache" / "pkgs").mkdir(parents=True)
    (upper / "var" / "kept").mkdir()
    drop_mount_points(upper, "/var/cache/pkgs", 1)  # /var existed before the step: it stays
    assert sorted(os.listdir(upper / "var")) == ["kept"]
    (upper / "run" / "secrets").mkdir(parents=True)
    (upper / "run" / "secrets" / "token").write_text("")
    (upper / "run" / "other").write_text("written by the step")
    drop_mount_points(upper, "/run/secrets/token", 0)
    assert os.listdir(upper / "run") == ["other"]  # the step's own file keeps /run
    os.symlink("/etc", upper / "link")
    drop_mount_points(upper, "/link/ssl", 0)  # never through a link
    assert os.path.islink(upper / "link") and os.path.isdir("/etc/ssl")
