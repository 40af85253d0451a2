"""A build pulls a base image the store lacks, and with ``pull`` (build --pull, build.pull) a newer one
it has, as BuildKit resolves FROM from the registry; against a real docker-registry on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.errors import ImageError
from orchestrator.images import base_images
from orchestrator.images.build.builder import BuildReport, build_image
from orchestrator.images.build.runner import RuntimeBuildRunner
from orchestrator.images.model import Image
from orchestrator.images.store import ImageStore
from orchestrator.paths import Paths
from tests.integration.images.conftest import RegistryServer

pytestmark = pytest.mark.root


@pytest.fixture
def builder_store(tmp_path: Path) -> Iterator[ImageStore]:
    """A second store, empty: the machine that builds on the published base."""
    paths = Paths(tmp_path / "builder-root")
    paths.ensure()
    s = ImageStore(paths)
    try:
        yield s
    finally:
        s.close()


def _build(store: ImageStore, ctx: Path, dockerfile: str, log: list[str], *, pull: bool = False,
           tag: str = "app:1") -> tuple[Image, BuildReport]:
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    report = BuildReport()
    img = build_image(ctx, tag=tag, build_args={}, target=None, store=store,
                      runner=RuntimeBuildRunner(store.paths, output=log.append), progress=log.append,
                      report=report, pull=pull)
    return img, report


def _diff_ids(img: Image) -> list[str]:
    return [layer.diff_id for layer in img.layers]


def test_a_missing_base_is_pulled_and_a_present_one_again_only_with_pull(
        store: ImageStore, builder_store: ImageStore, registry: RegistryServer, tmp_path: Path) -> None:
    store.paths.ensure()
    base = f"{registry.host}/pstest/base:1"
    first = base_images.build_busybox(store)
    store.tag("busybox", base)
    store.push(base)

    app = f"FROM {base}\nRUN echo built > /built\n"
    log: list[str] = []
    img, report = _build(builder_store, tmp_path / "app", app, log)
    assert any(f"pulling {base}" in line for line in log), log
    assert builder_store.resolve(base).id == first.id
    assert _diff_ids(img)[:-1] == _diff_ids(first) and report.misses == 1

    # a newer base is published under the same tag
    newer, _ = _build(store, tmp_path / "newer", "FROM busybox\nRUN echo 2 > /version\n", [], tag=base)
    store.push(base)

    log.clear()
    again, report = _build(builder_store, tmp_path / "app", app, log)
    assert not any("pulling" in line for line in log) and report.misses == 0 and again.id == img.id

    log.clear()
    rebuilt, report = _build(builder_store, tmp_path / "app", app, log, pull=True)
    assert any(f"pulling {base}" in line for line in log), log
    assert builder_store.resolve(base).id == newer.id and report.misses == 1
    assert _diff_ids(rebuilt)[:-1] == _diff_ids(newer)

    missing = f"{registry.host}/pstest/nothing:1"
    with pytest.raises(ImageError) as err:
        _build(builder_store, tmp_path / "app", f"FROM {missing}\nRUN true\n", log)
    text = str(err.value)
    assert text.startswith("Dockerfile:1: cannot pull ") and missing in text and "\n" not in text
