"""Fixtures for the runtime's real-kernel tests: a runtime over a temp root, bundles over busybox copies."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.paths import Paths
from orchestrator.runtime.config_builder import ContainerOptions, build_config, write_bundle
from orchestrator.runtime.engine import PystackRuntime

BundleFactory = Callable[..., tuple[str, Path]]


def new_id() -> str:
    return f"rt-{uuid.uuid4().hex[:8]}"


def runtime_over(root: Path) -> Iterator[PystackRuntime]:
    """A runtime over ``root``; every container left at the end is force-deleted."""
    runtime = PystackRuntime(Paths(root))
    yield runtime
    for st in runtime.list():
        with contextlib.suppress(Exception):
            runtime.delete(st.id, force=True)


@pytest.fixture
def rt(pystack_root: Path) -> Iterator[PystackRuntime]:
    yield from runtime_over(pystack_root)


@pytest.fixture
def make_bundle(tmp_path: Path, busybox_rootfs: Path) -> BundleFactory:
    return bundle_factory(tmp_path, busybox_rootfs)


def bundle_factory(tmp_path: Path, busybox_rootfs: Path) -> BundleFactory:
    """make_bundle(args, **ContainerOptions fields, edit=callable(cfg)) → (container id, bundle dir)."""

    def make(args: list[str], *, edit: Callable[[dict[str, Any]], None] | None = None,
             rootfs: Path | None = None, **kw: Any) -> tuple[str, Path]:
        cid = new_id()
        bundle = tmp_path / cid
        root = rootfs
        if root is None:
            root = bundle / "rootfs"
            shutil.copytree(busybox_rootfs, root, symlinks=True)
        kw.setdefault("cgroups_path", f"pystack/{cid}")
        cfg = build_config(ContainerOptions(args=args, rootfs=root, **kw))
        if edit is not None:
            edit(cfg)
        write_bundle(bundle, cfg)
        return cid, bundle

    return make


def run_logged(rt: PystackRuntime, cid: str, bundle: Path, timeout: float = 20) -> tuple[int, str, str]:
    """create/start/wait/delete with a json-file log; (exit code, stdout, stderr)."""
    import json

    log = bundle / "log.json"
    rt.create(cid, bundle, log_path=log)
    try:
        rt.start(cid)
        st = rt.wait(cid, timeout)
        assert st is not None, "container did not exit in time"
    finally:
        rt.delete(cid, force=True)
    out, err = [], []
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        (out if rec["stream"] == "stdout" else err).append(rec["log"])
    return st.code, "".join(out), "".join(err)
