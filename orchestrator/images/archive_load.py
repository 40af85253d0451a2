"""Loading docker-save archives and OCI layouts (being written)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import ImageError

if TYPE_CHECKING:
    from orchestrator.images.store import Image, ImageStore


def load(store: ImageStore, path: Path) -> list[Image]:
    raise ImageError("image load is not implemented yet")
