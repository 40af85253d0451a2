"""What the image builder is given for a service's build: its resolved args, without the unset ones."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrator.images.build import builder, runner
from orchestrator.reconcile.building import build_service_image
from orchestrator.spec.project import LoadOptions
from orchestrator.spec.stack import load_stack


def test_args_from_the_project_environment_reach_the_builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("SENTRY_IMAGE=getsentry/sentry:nightly\n")
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    build: {context: ., args: [SENTRY_IMAGE, NOPE]}\n")
    stack = load_stack(LoadOptions(files=[str(tmp_path / "compose.yaml")], environ={}))
    seen: dict[str, Any] = {}

    def fake_build(context: Path, **kw: Any) -> Any:
        seen.update(kw)
        return SimpleNamespace(id="sha256:x")

    monkeypatch.setattr(builder, "build_image", fake_build)
    monkeypatch.setattr(runner, "RuntimeBuildRunner", lambda *a, **kw: None)
    ctx: Any = SimpleNamespace(paths=SimpleNamespace(build_cache=tmp_path / "cache"), images=None)
    build_service_image(ctx, stack, stack.services["web"], "web:latest", lambda _line: None)
    assert seen["build_args"] == {"SENTRY_IMAGE": "getsentry/sentry:nightly"}
