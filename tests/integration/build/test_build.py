"""Dockerfile builds on the real kernel with pystack's runtime: layers, cache, stages, COPY/ADD."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from orchestrator.errors import ImageError
from tests.integration.build.conftest import Builder

pytestmark = pytest.mark.root


def test_layers_config_and_whiteouts(builder: Builder) -> None:
    builder.write({"app.txt": "data\n"})
    img, rep = builder.build(
        "FROM busybox:latest\n"
        "ARG GREETING=hello\n"
        "ENV APP=/app MODE=\"prod mode\"\n"
        "WORKDIR $APP\n"
        "COPY app.txt ./\n"
        "RUN echo \"$GREETING $MODE $(id -u)\" > out.txt && rm /etc/group\n"
        "RUN [\"/bin/sh\", \"-c\", \"echo exec > /app/exec.txt\"]\n"
        "USER nobody\n"
        "CMD [\"cat\", \"out.txt\"]\n",
        build_args={"GREETING": "hi"},
    )
    assert rep.misses == len(rep.steps) == 8
    cfg = img.container_config
    assert cfg["WorkingDir"] == "/app" and cfg["User"] == "nobody" and cfg["Cmd"] == ["cat", "out.txt"]
    assert "MODE=prod mode" in cfg["Env"] and not any(e.startswith("GREETING") for e in cfg["Env"])
    assert len(img.layers) == 1 + 4  # busybox + WORKDIR + COPY + 2 RUN
    assert len(img.config["history"]) == 1 + 8

    def check(root: Path) -> None:
        assert (root / "app/out.txt").read_text() == "hi prod mode 0\n"
        assert (root / "app/exec.txt").read_text() == "exec\n"
        assert (root / "app/app.txt").read_text() == "data\n"
        assert os.stat(root / "app/app.txt").st_uid == 0
        assert not (root / "etc/group").exists() and (root / "etc/passwd").exists()
        assert not (root / "proc").exists() or "proc" in os.listdir(root)  # mount stubs not in layers
    builder.inspect(img, check)


def test_unchanged_rebuild_is_all_hits_and_same_id(builder: Builder) -> None:
    builder.write({"a.txt": "a", "b.txt": "b"})
    df = ("FROM busybox\nCOPY a.txt /a.txt\nRUN echo one > /one\nCOPY b.txt /b.txt\nRUN cat /a.txt /b.txt > /ab\n"
          "LABEL x=y\n")
    first, r1 = builder.build(df)
    again, r2 = builder.build(df)
    assert r1.hits == 0 and r2.misses == 0 and r2.hits == 5
    assert again.id == first.id and again.manifest_digest == first.manifest_digest
    # a changed file rebuilds from its COPY onward and not before; a touch alone changes nothing
    os.utime(builder.ctx / "a.txt", (1, 1))
    _, r3 = builder.build(df)
    assert r3.misses == 0
    (builder.ctx / "b.txt").write_text("B")
    changed, r4 = builder.build(df)
    assert [hit for _, _, hit in r4.steps] == [True, True, False, False, False]
    assert builder.inspect(changed, lambda root: (root / "ab").read_text()) == "aB"
    _, r5 = builder.build(df, no_cache=True)
    assert r5.hits == 0


def test_multi_stage_copy_from_and_target(builder: Builder) -> None:
    img, _ = builder.build(
        "ARG BASE=busybox\n"
        "FROM ${BASE} AS build\n"
        "RUN mkdir -p /out && echo built > /out/artifact && chown 1000:1000 /out/artifact\n"
        "FROM scratch AS final\n"
        "COPY --from=build /out/artifact /artifact\n"
        "COPY --from=busybox:latest /bin/busybox /bin/busybox\n"
        "CMD [\"/bin/busybox\", \"cat\", \"/artifact\"]\n"
    )
    assert len(img.layers) == 2  # scratch + two COPY layers; nothing from the build stage

    def check(root: Path) -> None:
        assert (root / "artifact").read_text() == "built\n"
        assert os.stat(root / "artifact").st_uid == 1000  # --from keeps ownership
        assert sorted(os.listdir(root)) == ["artifact", "bin"]
    builder.inspect(img, check)
    build_only, _ = builder.build(target="build", tag="test:build")
    assert builder.inspect(build_only, lambda root: (root / "out/artifact").read_text()) == "built\n"
    with pytest.raises(ImageError, match="target stage 'nope' not found"):
        builder.build(target="nope")


def test_copy_add_flags_dockerignore_and_archives(builder: Builder) -> None:
    builder.write({"src/keep.py": "k", "src/skip.log": "s", "src/cache/x": "x", "src/cache/keep.me": "m",
                   ".dockerignore": "**/*.log\nsrc/cache\n!src/cache/keep.me\n"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        ti = tarfile.TarInfo("pkg/inside.txt")
        ti.size = 3
        tf.addfile(ti, io.BytesIO(b"tar"))
    (builder.ctx / "pkg.tar.gz").write_bytes(buf.getvalue())
    img, _ = builder.build(
        "FROM busybox\n"
        "COPY --chown=nobody:nogroup --chmod=600 src /srv/\n"
        "COPY --chown=1234 src/keep.py /single\n"
        "ADD pkg.tar.gz /opt/\n"
        "ADD src/keep.py /opt/plain.py\n"
        "COPY src/*.py /glob/\n"
    )

    def check(root: Path) -> None:
        assert sorted(os.listdir(root / "srv")) == ["cache", "keep.py"]
        assert os.listdir(root / "srv/cache") == ["keep.me"]
        st = os.stat(root / "srv/keep.py")
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o600)
        st = os.stat(root / "single")
        assert (st.st_uid, st.st_gid) == (1234, 1234)
        assert (root / "opt/pkg/inside.txt").read_text() == "tar"
        assert (root / "opt/plain.py").read_text() == "k"
        assert os.listdir(root / "glob") == ["keep.py"]
    builder.inspect(img, check)


@pytest.mark.parametrize("df,msg", [
    ("FROM busybox\nRUN exit 3\n", "failed with exit code 3"),
    ("FROM busybox\nADD https://example.com/x /x\n", "builds offline"),
    ("FROM busybox\nCOPY ../outside /x\n", "outside the build context"),
    ("FROM busybox\nCOPY missing.txt /x\n", "not found in the build context"),
    ("FROM 127.0.0.1:9/nosuch:image\n", "cannot pull 127.0.0.1:9/nosuch:image"),  # loopback: nothing listens
    ("FROM 0123456789ab\n", "not found locally"),  # an image id: only the store could have it
    ("FROM busybox\nCOPY a b /notadir\n", "must be a directory"),
    ("FROM busybox\nRUN --security=insecure true\n", "RUN --security is not supported"),
    ("FROM busybox\nRUN --mount=type=cache,from=x,source=/s,target=/x true\n", "with from/source is not supported"),
    ("FROM --platform=linux/s390x busybox\n", "no emulation"),
])
def test_failures_are_clear(builder: Builder, df: str, msg: str) -> None:
    builder.write({"a": "a", "b": "b"})
    with pytest.raises(ImageError) as info:
        builder.build(df)
    assert msg in str(info.value) and "\n" not in str(info.value)
    assert "Dockerfile:" in str(info.value)


def test_run_network_none_and_user(builder: Builder) -> None:
    img, _ = builder.build(
        "FROM busybox\n"
        "RUN --network=none sh -c 'ls /sys/class/net > /nets'\n"
        "USER nobody\n"
        "RUN id -u > /tmp/uid\n"
    )

    def check(root: Path) -> None:
        assert (root / "nets").read_text().split() == ["lo"]
        assert (root / "tmp/uid").read_text() == "65534\n"
    builder.inspect(img, check)


def test_build_args_defaults_and_scoping(builder: Builder) -> None:
    img, _ = builder.build(
        "ARG VERSION=1.0\n"
        "FROM busybox\n"
        "ARG VERSION\n"
        "ARG OTHER=dflt\n"
        "ARG TARGETARCH\n"
        "ENV V=$VERSION O=$OTHER A=$TARGETARCH\n",
        build_args={"OTHER": "given", "UNUSED": "x"},
    )
    env = dict(e.split("=", 1) for e in img.container_config["Env"])
    assert env["V"] == "1.0" and env["O"] == "given" and env["A"] != ""
    assert any("UNUSED" in line and "warning" in line for line in builder.log)
