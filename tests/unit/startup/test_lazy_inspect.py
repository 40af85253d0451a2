"""``inspect`` stays unimported until used, and then behaves as the real module for every holder.

Each case runs in a fresh interpreter: pytest itself has long imported ``inspect``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from orchestrator.isolated import CODE_ROOT


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path[:0] = [{CODE_ROOT!r}]\n"
                          + textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_dataclasses_with_docstrings_leave_inspect_unimported() -> None:
    words = _run("""
        import orchestrator.cli
        from dataclasses import dataclass, field
        from orchestrator.startup import lazy_inspect

        @dataclass(frozen=True)
        class Point:
            '''A point.'''
            x: int
            tags: list[str] = field(default_factory=list)

        print(lazy_inspect.is_deferred(), "ast" in sys.modules, "dis" in sys.modules, Point(1) == Point(1))
    """)
    assert words == ["True", "False", "False", "True"]


def test_first_use_loads_the_real_module_for_every_holder() -> None:
    words = _run("""
        import orchestrator.cli
        import inspect as early            # the stand-in
        from orchestrator.startup import lazy_inspect
        from dataclasses import dataclass

        @dataclass
        class Plain:                       # no docstring: dataclasses asks inspect for a signature
            x: int

        import inspect as late             # the real module now
        from inspect import signature
        print(lazy_inspect.is_deferred(), type(late).__name__, Plain.__doc__.replace(" ", ""))
        print(early.signature is late.signature, signature is late.signature, early.__name__,
              early.__file__ == late.__file__)
        print(str(early.signature(lambda a, b=2: 0)), early.isfunction(print), hasattr(early, "no_such_name"))
    """)
    assert words == ["False", "module", "Plain(x:int)",
                     "True", "True", "inspect", "True",
                     "(a,", "b=2)", "False", "False"]


def test_from_import_of_the_stand_in_loads_it_once() -> None:
    words = _run("""
        import orchestrator.cli
        from orchestrator.startup import lazy_inspect
        from inspect import cleandoc
        print(lazy_inspect.is_deferred(), cleandoc("  a\\n  b").replace("\\n", "|"),
              sys.modules["inspect"].cleandoc is cleandoc)
    """)
    assert words == ["False", "a|b", "True"]


def test_nothing_is_deferred_once_inspect_is_imported() -> None:
    words = _run("""
        import inspect
        import orchestrator.cli
        from orchestrator.startup import lazy_inspect
        print(lazy_inspect.is_deferred(), sys.modules["inspect"] is inspect)
    """)
    assert words == ["False", "True"]
