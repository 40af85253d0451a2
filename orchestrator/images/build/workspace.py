"""Scratch directories, overlay mounts and layer blobs for one build.

Every step that touches a filesystem gets its own ``work/s<n>/{upper,work,merged}`` under
``Paths.build_cache``; everything is unmounted when the step ends and the whole tree is removed
(after a last unmount pass) when the build ends, whether it succeeded or not.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestrator.images import layers as layerdirs
from orchestrator.images import manifest as mf
from orchestrator.images.model import LayerRef
from orchestrator.images.store import ImageStore
from orchestrator.storage.diff import make_layer
from orchestrator.storage.rootfs import mount_rootfs, unmount_rootfs


class Workspace:
    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self.root = store.paths.build_cache / "work" / f"{os.getpid()}-{time.monotonic_ns()}"
        self._n = itertools.count(1)

    def layer_dirs(self, layers: list[LayerRef]) -> list[Path]:
        """Unpacked directories of ``layers`` (lowest first), unpacking once what is missing."""
        return [layerdirs.ensure_unpacked(self.store.paths, self.store.content, lr) for lr in layers]

    def new_dir(self) -> Path:
        d = self.root / f"s{next(self._n)}"
        d.mkdir(parents=True)
        return d

    @contextmanager
    def mounted(self, layers: list[LayerRef], *, readonly: bool = False) -> Iterator[Path]:
        cdir = self.new_dir()
        try:
            yield mount_rootfs(self.layer_dirs(layers), cdir, readonly=readonly)
        finally:
            unmount_rootfs(cdir)

    def change(self, layers: list[LayerRef], fn: Callable[[Path], None]) -> LayerRef | None:
        """Mount ``layers`` under a fresh upper dir, let ``fn`` change the root, return the new layer."""
        cdir = self.new_dir()
        try:
            fn(mount_rootfs(self.layer_dirs(layers), cdir))
        finally:
            unmount_rootfs(cdir)
        return self.commit_layer(cdir / "upper")

    def commit_layer(self, upper: Path) -> LayerRef | None:
        """The step's upper dir as a gzip layer blob in the content store; None when nothing changed."""
        if not any(upper.iterdir()):
            return None
        f, tmp = self.store.content.temp_file()
        try:
            with f:
                blob = make_layer(upper, f)
                f.flush()
                os.fsync(f.fileno())
            self.store.content.commit_file(tmp, blob.digest)
        finally:
            tmp.unlink(missing_ok=True)
        return LayerRef(diff_id=blob.diff_id, digest=blob.digest, size=blob.size, media_type=mf.OCI_LAYER_GZIP)

    def cleanup(self) -> None:
        if self.root.exists():
            for d in self.root.iterdir():
                unmount_rootfs(d)
            shutil.rmtree(self.root, ignore_errors=True)
