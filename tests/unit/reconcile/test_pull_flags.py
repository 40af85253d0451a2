"""``up --pull`` and ``--quiet-pull`` decide over each service's pull_policy, as in Compose."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from orchestrator.errors import PystackError
from orchestrator.reconcile.stack_ops import UpOptions, ensure_images


class FakeImages:
    def __init__(self, present: set[str]) -> None:
        self.present = present
        self.pulled: list[str] = []

    def exists(self, ref: str) -> bool:
        return ref in self.present

    def pull(self, ref: str, **_: Any) -> None:
        self.pulled.append(ref)
        self.present.add(ref)

    def resolve(self, ref: str) -> str:
        return ref


def _stack(policy: str | None, hooks: list[dict[str, Any]] | None = None) -> Any:
    svc = SimpleNamespace(name="app", image="busybox:latest", build=None, pull_policy=policy, platform=None,
                          pre_start=hooks or [])
    return SimpleNamespace(name="flagfix", services={"app": svc})


def _run(policy: str | None, present: set[str], hooks: list[dict[str, Any]] | None = None,
         **opts: Any) -> tuple[FakeImages, list[str]]:
    images = FakeImages(present)
    lines: list[str] = []
    ensure_images(SimpleNamespace(images=images), _stack(policy, hooks), UpOptions(**opts),  # type: ignore[arg-type]
                  lines.append)
    return images, lines


def test_a_pre_start_hook_image_is_pulled_as_the_service_image_is() -> None:
    hooks = [{"service": {"image": "busybox:latest"}}, {"service": {"image": "alpine:3"}}]
    images, lines = _run(None, {"busybox:latest"}, hooks)
    assert images.pulled == ["alpine:3"]  # the service's own image is not pulled twice
    assert lines == ["Image alpine:3  Pulling", "Image alpine:3  Pulled"]
    with pytest.raises(PystackError, match=r"pre_start\[0\] image 'alpine:3' is not present"):
        _run("never", {"busybox:latest"}, [{"service": {"image": "alpine:3"}}])


def test_the_flag_overrides_the_service_pull_policy() -> None:
    assert _run("always", {"busybox:latest"}, pull="never")[0].pulled == []
    assert _run("never", {"busybox:latest"}, pull="always")[0].pulled == ["busybox:latest"]


def test_without_the_flag_the_service_decides() -> None:
    assert _run("always", {"busybox:latest"})[0].pulled == ["busybox:latest"]
    assert _run(None, {"busybox:latest"})[0].pulled == []
    assert _run(None, set())[0].pulled == ["busybox:latest"]


def test_quiet_pull_prints_no_pull_lines() -> None:
    images, lines = _run(None, set(), quiet_pull=True)
    assert images.pulled == ["busybox:latest"] and lines == []
    assert _run(None, set())[1] == ["Image busybox:latest  Pulling", "Image busybox:latest  Pulled"]
