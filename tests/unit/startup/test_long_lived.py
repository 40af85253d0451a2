"""The long-lived processes defer ``inspect`` as the command line does, and keep the dataclass code
cache out of their memory (and never write it)."""

from __future__ import annotations

import subprocess
import uuid

from orchestrator import isolated
from orchestrator.startup import dataclass_cache


def test_a_long_lived_process_defers_inspect_and_leaves_the_dataclass_cache_alone() -> None:
    field = f"field_{uuid.uuid4().hex}"
    out = subprocess.run([*isolated.command("tests.helpers.startup_probe", site_packages=False), field],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "True"]
    path = dataclass_cache.default_path()
    assert path is not None
    assert not any(field in source for source in dataclass_cache._read(path))
