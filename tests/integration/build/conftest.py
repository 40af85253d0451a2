"""A private state root with busybox:latest (FROM scratch, built offline) for each build test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.images.base_images import build_busybox
from orchestrator.images.build.builder import BuildReport, build_image
from orchestrator.images.build.runner import RuntimeBuildRunner
from orchestrator.images.model import Image
from orchestrator.images.store import ImageStore
from orchestrator.paths import Paths
from orchestrator.storage.rootfs import mount_rootfs, unmount_rootfs


@dataclass
class Builder:
    paths: Paths
    store: ImageStore
    ctx: Path
    log: list[str]

    def write(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            p = self.ctx / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)

    def build(self, dockerfile: str | None = None, *, tag: str | None = "test:latest",
              build_args: dict[str, str] | None = None, target: str | None = None,
              no_cache: bool = False) -> tuple[Image, BuildReport]:
        if dockerfile is not None:
            (self.ctx / "Dockerfile").write_text(dockerfile)
        report = BuildReport()
        img = build_image(self.ctx, tag=tag, build_args=build_args or {}, target=target, store=self.store,
                          runner=RuntimeBuildRunner(self.paths, output=self.log.append), no_cache=no_cache,
                          progress=self.log.append, report=report)
        return img, report

    def inspect(self, img: Image, fn: Callable[[Path], object]) -> object:
        """Mount the image read-only and call ``fn(root)``."""
        cdir = self.paths.root / "inspect" / img.short_id
        try:
            merged = mount_rootfs(self.store.layer_dirs(img), cdir, readonly=True)
            return fn(merged)
        finally:
            unmount_rootfs(cdir)


@pytest.fixture
def builder(tmp_path: Path) -> Iterator[Builder]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    paths = Paths(tmp_path / "root")
    paths.ensure()
    store = ImageStore(paths)
    build_busybox(store)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    try:
        yield Builder(paths, store, ctx, [])
    finally:
        store.close()
