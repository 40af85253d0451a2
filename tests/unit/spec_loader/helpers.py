"""Write a small project under a test's tmp_path and load it."""

from __future__ import annotations

import textwrap
from pathlib import Path

from orchestrator.spec.project import LoadedProject, LoadOptions, load_project


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def load(
    root: Path, files: dict[str, str], *names: str, env: dict[str, str] | None = None, **kw: object
) -> LoadedProject:
    write(root, files)
    opts = LoadOptions(files=[str(root / n) for n in names], environ=env or {}, **kw)  # type: ignore[arg-type]
    return load_project(opts)
