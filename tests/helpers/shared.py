"""Where the read-only ``shared/`` material is: beside the checkout (as CI lays it), or PYSTACK_SHARED."""

from __future__ import annotations

import os
from pathlib import Path


def shared_dir() -> Path:
    repo = Path(__file__).resolve().parents[2]
    candidates = [Path(p) for p in (os.environ.get("PYSTACK_SHARED"),) if p]
    candidates += [repo.parent / "shared", Path("/work/shared")]
    for c in candidates:
        if (c / "compose-spec").is_dir():
            return c
    raise RuntimeError("shared/ not found beside the checkout; set PYSTACK_SHARED")


SHARED = shared_dir()
