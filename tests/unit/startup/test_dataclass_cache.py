"""The methods dataclasses compiles come from a cache on later runs, and are the same methods.

Each case runs in fresh interpreters with the cache module loaded on its own (not through
``orchestrator.cli``, which would install the package's default cache) and a cache file in tmp.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from orchestrator.isolated import CODE_ROOT

MODULE = os.path.join(CODE_ROOT, "orchestrator", "startup", "dataclass_cache.py")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}  # bytecode writing as by default

CLASSES = '''
import dataclasses, inspect
from dataclasses import dataclass, field

@dataclass(frozen=True)
class Point:
    """A frozen record with defaults."""
    x: int
    y: int = 2
    tags: tuple[str, ...] = ()

@dataclass(order=True)
class Box:
    name: str
    items: list[int] = field(default_factory=list)
    secret: str = field(default="s", repr=False)

p = Point(1)
try:
    p.x = 5  # type: ignore[misc]
    frozen = "not frozen"
except dataclasses.FrozenInstanceError:
    frozen = "frozen"
a, b = Box("a"), Box("a")
a.items.append(1)
print(repr(p), p == Point(1, 2), hash(p) == hash(Point(1)), frozen)
print(repr(a), b.items, Box("a") < Box("b"), a == Box("a", [1]))
print(inspect.signature(Point), inspect.signature(Box), Point.__init__.__annotations__, Box.__init__.__annotations__)
print([f.name for f in dataclasses.fields(Box)], dataclasses.replace(p, y=7))
'''


def _run(cache: Path | None, extra_env: dict[str, str] | None = None) -> tuple[str, str]:
    """(what the classes print, the number of compiles served by compiling) in a fresh interpreter."""
    setup = "misses = 'off'\n"
    if cache is not None:
        setup = textwrap.dedent(f"""
            import importlib.util
            spec = importlib.util.spec_from_file_location("dataclass_cache", {MODULE!r})
            dc = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(dc)
            dc.install({str(cache)!r})
        """)
    report = "print('misses', dc.misses)\n" if cache is not None else "print('misses', 'off')\n"
    code = "from __future__ import annotations  # as pystack's modules\n" + setup + CLASSES + report
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**ENV, **(extra_env or {})})
    assert res.returncode == 0, res.stderr
    *out, last = res.stdout.splitlines()
    return "\n".join(out), last.split()[1]


def test_a_second_run_compiles_nothing_and_gets_the_same_classes(tmp_path: Path) -> None:
    cache = tmp_path / "pycache" / "dataclass-code.marshal"
    plain, _ = _run(None)
    first, misses_first = _run(cache)
    assert cache.is_file() and stat.S_IMODE(cache.stat().st_mode) == 0o644
    second, misses_second = _run(cache)
    assert int(misses_first) > 0 and misses_second == "0"
    assert first == second == plain
    assert "Point(x=1, y=2, tags=()) True True frozen" in plain and "secret" not in plain.splitlines()[1]


def test_a_cache_file_others_may_write_or_that_is_damaged_is_not_read(tmp_path: Path) -> None:
    cache = tmp_path / "dataclass-code.marshal"
    plain, _ = _run(None)
    _run(cache)
    cache.chmod(0o666)
    out, misses = _run(cache)
    assert int(misses) > 0 and out == plain
    cache.unlink()
    cache.write_bytes(b"\x00not marshal data")
    cache.chmod(0o644)
    out, misses = _run(cache)
    assert int(misses) > 0 and out == plain
    _, misses = _run(cache)  # the damaged file was replaced by a good one
    assert misses == "0"


def test_no_cache_and_no_bytecode_writing_leave_no_file(tmp_path: Path) -> None:
    cache = tmp_path / "dataclass-code.marshal"
    plain, _ = _run(None)
    out, misses = _run(cache, {"PYSTACK_NO_CACHE": "1"})
    assert out == plain and not cache.exists() and misses == "0"
    out, misses = _run(cache, {"PYTHONDONTWRITEBYTECODE": "1"})
    assert out == plain and not cache.exists() and int(misses) > 0
