"""Dockerfile builds: parse, run each step in a container or copy into an overlay, cache layers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.images.build.builder import BuildReport, BuildRunner, build_image

__all__ = ["BuildReport", "BuildRunner", "build_image"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from orchestrator.images.build import builder

        return getattr(builder, name)
    raise AttributeError(name)
