"""A module started as pystack starts its long-lived processes (``isolated.command``), telling how
its start-up was prepared: used by ``tests/unit/test_startup.py``."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from dataclasses import make_dataclass

    from orchestrator.startup import dataclass_cache, lazy_inspect

    # a class no pystack code has: compiled here, and (read-only cache) never written back
    make_dataclass("Probe", [(argv[0], int)], namespace={"__doc__": "A probe."})
    print(lazy_inspect.is_deferred(), dataclass_cache._path is not None, dataclass_cache.misses > 0,
          "ast" in sys.modules)
    return 0
