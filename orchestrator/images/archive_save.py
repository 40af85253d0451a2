"""Saving images as docker-save archives or OCI layouts (being written)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from orchestrator.errors import ImageError

if TYPE_CHECKING:
    from orchestrator.images.store import Image, ImageStore


def save(store: ImageStore, images: list[Image], out: Path, *, format: Literal["docker", "oci"]) -> None:
    raise ImageError("image save is not implemented yet")
