"""Pull and push over the OCI distribution API (being written)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from orchestrator.errors import ImageError

if TYPE_CHECKING:
    from orchestrator.images.store import Image, ImageStore


def pull(store: ImageStore, ref: str, *, platform: str | None, insecure: bool,
         progress: Callable[[str], None] | None) -> Image:
    raise ImageError("image pull is not implemented yet")


def push(store: ImageStore, ref: str, *, insecure: bool, progress: Callable[[str], None] | None) -> None:
    raise ImageError("image push is not implemented yet")
