"""The config of a committed image: the container's, then ``--change``, then author and history."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import ImageError
from orchestrator.images.commit import ContainerConfig, committed_config, parse_changes

BASE: dict[str, Any] = {
    "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z", "container": "abc",
    "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "/", "Labels": {"from": "image"}},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]},
    "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "base"}],
}


def _config(container: ContainerConfig, changes: tuple[str, ...] = (), **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"diff_ids": ["sha256:" + "1" * 64, "sha256:" + "2" * 64], "layer_added": True,
                            "created": "2026-12-07T00:00:00Z", "author": None, "message": None,
                            "created_by": "sh -c sleep 1"}
    args.update(kw)
    return committed_config(BASE, container, parse_changes(changes), **args)


def test_the_container_s_environment_directory_command_and_labels_become_the_image_s() -> None:
    cfg = _config(ContainerConfig(env={"PATH": "/bin", "A": "1"}, working_dir="/srv", command=["sleep", "9"],
                                  labels={"svc": "x"}))
    inner = cfg["config"]
    assert inner["Env"] == ["PATH=/bin", "A=1"] and inner["WorkingDir"] == "/srv"
    assert inner["Cmd"] == ["sleep", "9"] and "Entrypoint" not in inner
    assert inner["Labels"] == {"from": "image", "svc": "x"}
    assert cfg["rootfs"]["diff_ids"][-1] == "sha256:" + "2" * 64
    assert "container" not in cfg and cfg["created"] == "2026-12-07T00:00:00Z"
    assert cfg["history"][-1] == {"created": "2026-12-07T00:00:00Z", "created_by": "sh -c sleep 1"}
    assert BASE["config"]["Env"] == ["PATH=/bin"]  # the base image's document is left as it was


def test_a_service_entrypoint_drops_the_image_command_as_for_its_container() -> None:
    inner = _config(ContainerConfig(env={}, entrypoint=["/bin/app"]))["config"]
    assert inner["Entrypoint"] == ["/bin/app"] and inner["Cmd"] is None


def test_changes_apply_last_and_author_and_message_are_recorded() -> None:
    cfg = _config(ContainerConfig(env={"PATH": "/bin"}, working_dir="/srv"),
                  ('ENV B=2 C="x y"', "CMD [\"run\", \"it\"]", "EXPOSE 80/tcp 53/udp", "WORKDIR sub",
                   "LABEL v=1", "USER 1000:1000", "VOLUME /data"),
                  author="Jane <j@x>", message="snapshot", layer_added=False)
    inner = cfg["config"]
    assert inner["Env"] == ["PATH=/bin", "B=2", "C=x y"]
    assert inner["Cmd"] == ["run", "it"] and inner["WorkingDir"] == "/srv/sub"
    assert set(inner["ExposedPorts"]) == {"80/tcp", "53/udp"} and inner["Volumes"] == {"/data": {}}
    assert inner["Labels"]["v"] == "1" and inner["User"] == "1000:1000"
    assert cfg["author"] == "Jane <j@x>"
    assert cfg["history"][-1] == {"created": "2026-12-07T00:00:00Z", "created_by": "sh -c sleep 1",
                                  "author": "Jane <j@x>", "comment": "snapshot", "empty_layer": True}


@pytest.mark.parametrize(("change", "words"), [
    ("RUN rm -rf /", "RUN cannot be changed by commit"),
    ("COPY a b", "COPY cannot be changed by commit"),
    ("", "an empty change"),
    ("ENV A=1\nCMD x", "one instruction per --change"),
    ("FROM busybox", "FROM cannot be changed by commit"),
])
def test_what_commit_cannot_change_is_refused_by_name(change: str, words: str) -> None:
    with pytest.raises(ImageError, match=words):
        parse_changes((change,))
