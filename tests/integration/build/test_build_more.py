"""More builder behaviour: SHELL/ENTRYPOINT/HEALTHCHECK, symlinked destinations, opaque dirs, the CLI."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from orchestrator.errors import ImageError
from tests.integration.build.conftest import Builder

pytestmark = pytest.mark.root


def test_shell_entrypoint_healthcheck_volume(builder: Builder) -> None:
    img, _ = builder.build(
        "FROM busybox\n"
        "SHELL [\"/bin/sh\", \"-e\", \"-c\"]\n"
        "RUN echo $0 $- > /shell-flags\n"
        "ENTRYPOINT [\"/bin/sh\", \"-c\"]\n"
        "HEALTHCHECK --interval=5s --timeout=2s --start-period=1s --retries=4 CMD [\"true\"]\n"
        "VOLUME /data\n"
        "STOPSIGNAL SIGQUIT\n"
    )
    cfg = img.container_config
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"] and "Cmd" not in cfg
    assert cfg["Shell"] == ["/bin/sh", "-e", "-c"]
    assert cfg["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 5_000_000_000, "Timeout": 2_000_000_000,
                                  "StartPeriod": 1_000_000_000, "Retries": 4}
    assert cfg["Volumes"] == {"/data": {}} and cfg["StopSignal"] == "SIGQUIT"
    flags = builder.inspect(img, lambda root: (root / "shell-flags").read_text())
    assert isinstance(flags, str) and "e" in flags.split()[1]


def test_deleting_and_recreating_a_directory_makes_it_opaque(builder: Builder) -> None:
    img, _ = builder.build("FROM busybox\nRUN rm -rf /var/www && mkdir /var/www && echo n > /var/www/new\n")
    blob = builder.store.content.read_bytes(img.layers[-1].digest)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as tf:
        names = tf.getnames()
    assert "var/www/.wh..wh..opq" in names and "var/www/new" in names
    assert builder.inspect(img, lambda root: sorted(os.listdir(root / "var/www"))) == ["new"]


def test_destinations_through_symlinks_stay_in_the_image(builder: Builder, tmp_path: Path) -> None:
    host_dir = tmp_path / "host-dir"
    host_dir.mkdir()
    builder.write({"a.txt": "a"})
    img, _ = builder.build(
        "FROM busybox\n"
        f"RUN mkdir /real && ln -s /real /link && ln -s {host_dir} /abs && ln -s ../../../../.. /up\n"
        "COPY a.txt /link/\n"
        "COPY a.txt /abs/\n"
        "COPY a.txt /up/top.txt\n"
        "WORKDIR /link/work\n"
    )
    assert os.listdir(host_dir) == []

    def check(root: Path) -> None:
        assert (root / "real/a.txt").read_text() == "a"
        assert (root / str(host_dir).lstrip("/") / "a.txt").read_text() == "a"
        assert (root / "top.txt").read_text() == "a"
        assert (root / "real/work").is_dir()
    builder.inspect(img, check)


def test_stage_from_stage_inherits_layers_and_config(builder: Builder) -> None:
    img, rep = builder.build(
        "FROM --platform=$BUILDPLATFORM busybox AS one\nENV A=1\nRUN echo 1 > /one\n"
        "FROM one AS two\nRUN cat /one > /two\n"
    )
    assert "A=1" in img.container_config["Env"]
    assert builder.inspect(img, lambda root: (root / "two").read_text()) == "1\n"
    assert len(img.layers) == 3 and rep.misses == 3


def test_cli_build(builder: Builder) -> None:
    builder.write({"Containerfile": "FROM busybox\nARG WHO\nRUN echo $WHO > /who\n"})
    env = {**os.environ, "PYSTACK_ROOT": str(builder.paths.root)}
    cmd = [sys.executable, "-m", "orchestrator", "build", "-t", "cli:1", "-f", "Containerfile",
           "--build-arg", "WHO=cli", str(builder.ctx)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    image_id = out.stdout.strip()
    assert image_id.startswith("sha256:") and "tagged cli:1" in out.stderr
    img = builder.store.resolve("cli:1")
    assert img.id == image_id
    assert builder.inspect(img, lambda root: (root / "who").read_text()) == "cli\n"
    bad = subprocess.run([sys.executable, "-m", "orchestrator", "build", "-f", "Nope", str(builder.ctx)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1


def test_proxy_args_reach_run_without_changing_the_cache(builder: Builder) -> None:
    df = "FROM busybox\nRUN echo \"p=$http_proxy\" > /proxy\n"
    first, _ = builder.build(df, build_args={"http_proxy": "http://127.0.0.1:3128"})
    assert builder.inspect(first, lambda root: (root / "proxy").read_text()) == "p=http://127.0.0.1:3128\n"
    assert not any("http_proxy" in e for e in first.container_config.get("Env", []))
    _, rep = builder.build(df, build_args={"http_proxy": "http://127.0.0.1:9999"})
    assert rep.misses == 0


def test_symlinks_in_context_and_stages_never_reach_the_host(builder: Builder) -> None:
    builder.write({"dir/ok.txt": "ok"})
    (builder.ctx / "dir/shadow").symlink_to("/etc/shadow")
    (builder.ctx / "etc-link").symlink_to("/etc")
    with pytest.raises(ImageError, match="not found in the build context"):
        builder.build("FROM busybox\nCOPY etc-link/passwd /stolen\n")
    img, _ = builder.build(
        "FROM busybox AS src\nRUN ln -s /etc /hostetc\n"
        "FROM scratch\nCOPY dir /d/\nCOPY --from=src /hostetc/passwd /passwd\n"
    )

    def check(root: Path) -> None:
        assert os.readlink(root / "d/shadow") == "/etc/shadow"  # copied as a link, not followed
        assert "nobody:x:65534" in (root / "passwd").read_text()  # the busybox image's, not the host's
        assert (root / "passwd").read_text() != Path("/etc/passwd").read_text()
    builder.inspect(img, check)


def test_heredocs_in_run_and_copy(builder: Builder) -> None:
    img, _ = builder.build(
        "FROM busybox\n"
        "ENV NAME=world\n"
        "RUN <<EOF\n"
        "set -e\n"
        "echo \"hello $NAME\" > /greeting\n"
        "EOF\n"
        "RUN cat <<DOC > /doc\n"
        "line\n"
        "DOC\n"
        "COPY <<CONF /etc/app.conf\n"
        "name=$NAME\n"
        "CONF\n"
        "COPY <<'RAW' /raw\n"
        "$NAME\n"
        "RAW\n"
    )

    def check(root: Path) -> None:
        assert (root / "greeting").read_text() == "hello world\n"
        assert (root / "doc").read_text() == "line\n"
        assert (root / "etc/app.conf").read_text() == "name=world\n"
        assert (root / "raw").read_text() == "$NAME\n"
    builder.inspect(img, check)


def test_onbuild_triggers_run_in_the_child_build(builder: Builder) -> None:
    builder.write({"seed.txt": "seed"})
    parent, _ = builder.build("FROM busybox\nONBUILD COPY seed.txt /seeded\nONBUILD RUN echo hi > /trig\n",
                              tag="parent:1")
    assert parent.container_config["OnBuild"] == ["COPY seed.txt /seeded", "RUN echo hi > /trig"]
    child, _ = builder.build("FROM parent:1\nRUN cat /seeded /trig > /both\n", tag="child:1")
    assert "OnBuild" not in child.container_config
    assert builder.inspect(child, lambda root: (root / "both").read_text()) == "seedhi\n"


def test_default_network_none_applies_to_plain_run_steps(builder: Builder) -> None:
    from orchestrator.images.build.builder import build_image
    from orchestrator.images.build.runner import RuntimeBuildRunner

    (builder.ctx / "Dockerfile").write_text("FROM busybox\nRUN ls /sys/class/net > /nets\n")
    img = build_image(builder.ctx, tag="net:1", build_args={}, target=None, store=builder.store,
                      runner=RuntimeBuildRunner(builder.paths), network="none")
    assert builder.inspect(img, lambda root: (root / "nets").read_text().split()) == ["lo"]
    inline = build_image(builder.ctx, tag="inline:1", build_args={}, target=None, store=builder.store,
                         runner=RuntimeBuildRunner(builder.paths), dockerfile_inline="FROM busybox\nENV I=1\n")
    assert "I=1" in inline.container_config["Env"]


def test_runtime_mount_stubs_do_not_end_up_in_layers(builder: Builder) -> None:
    img, _ = builder.build("FROM scratch\nCOPY --from=busybox:latest /bin /bin\nRUN [\"/bin/busybox\", \"true\"]\n")
    assert len(img.layers) == 1  # the RUN changed nothing: /proc, /sys, /dev stubs were removed
    assert img.config["history"][-1].get("empty_layer") is True
    assert builder.inspect(img, lambda root: sorted(os.listdir(root))) == ["bin"]
