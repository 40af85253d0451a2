"""A module started as pystack starts its long-lived processes (``isolated.command``), telling how
its start-up was prepared: used by ``tests/unit/startup/test_long_lived.py``."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from dataclasses import make_dataclass

    from orchestrator.startup import dataclass_cache, lazy_inspect

    # a class no pystack code has, documented: compiled here, inspect still not needed
    make_dataclass("Probe", [(argv[0], int)], namespace={"__doc__": "A probe."})
    print(lazy_inspect.is_deferred(), "ast" in sys.modules, dataclass_cache._path is None)
    return 0
