"""State shared while one project loads: its variables, the warnings, and files already read.

A stack file is read, parsed and interpolated once per environment even when several services
``extends`` from it; callers get a private copy because merging and path rebasing change trees.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import SpecError
from orchestrator.spec.interpolate import interpolate_tree
from orchestrator.spec.merge import merge_files
from orchestrator.spec.source import MDict, Pos, clone
from orchestrator.spec.yaml_loader import MAX_DOCUMENT_BYTES, load_yaml_documents

MAX_INCLUDED_FILES = 256


def display_name(path: Path) -> str:
    """How a file is named in messages: relative to the current directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    shown = rel if not rel.startswith("..") else str(path)
    return shown.replace("\x00", "\\0")


@dataclass
class LoadContext:
    """What one load carries across files and includes: the environment, the warnings and the parsed files."""
    environment: dict[str, str]
    interpolate: bool = True
    warnings: list[str] = field(default_factory=list)
    warned: set[str] = field(default_factory=set)
    include_stack: tuple[str, ...] = ()
    #: service name → the variables of the included project it came from (shared by every include)
    service_environments: dict[str, dict[str, str]] = field(default_factory=dict)
    _cache: dict[str, MDict] = field(default_factory=dict)
    _includes: list[int] = field(default_factory=lambda: [0])  # shared by every included project

    def count_include(self, at: Pos | None) -> None:
        """Bound the files ``include`` may load: a diamond of includes would otherwise grow exponentially."""
        self._includes[0] += 1
        if self._includes[0] > MAX_INCLUDED_FILES:
            raise SpecError(
                f"more than {MAX_INCLUDED_FILES} included files",
                file=at[0] if at else None,
                line=at[1] if at else None,
                column=at[2] if at else None,
            )

    def lookup(self, name: str) -> str | None:
        return self.environment.get(name)

    def on_missing(self, name: str) -> None:
        if name not in self.warned:
            self.warned.add(name)
            self.warnings.append(f'variable "{name}" is not set, defaulting to a blank string')

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def child(self, environment: dict[str, str], include: str) -> LoadContext:
        """The context of an included project: its own variables, the same warnings."""
        return LoadContext(
            environment=environment,
            interpolate=self.interpolate,
            warnings=self.warnings,
            warned=self.warned,
            include_stack=(*self.include_stack, include),
            service_environments=self.service_environments,
            _includes=self._includes,
        )

    def read_file(self, path: Path, *, display: str | None = None, at: Pos | None = None, fresh: bool = False) -> MDict:
        """Parse and interpolate one stack file (several documents merge in order).

        ``fresh`` skips the cache and its copy, for a file read once (each ``-f`` file).
        """
        if fresh:
            return self._parse(path, display or display_name(path), at)
        key = str(path)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._parse(path, display or display_name(path), at)
            self._cache[key] = cached
        result: MDict = clone(cached)
        return result

    def read_text(self, data: bytes, display: str) -> MDict:
        return self._tree(data, display)

    def _parse(self, path: Path, name: str, at: Pos | None) -> MDict:
        where: dict[str, Any] = {"file": at[0], "line": at[1], "column": at[2]} if at else {"file": name}
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_DOCUMENT_BYTES + 1)
        except FileNotFoundError:
            raise SpecError(f"file {display_name(path)} not found", **where) from None
        except IsADirectoryError:
            raise SpecError(f"{display_name(path)} is a directory, not a stack file", **where) from None
        except OSError as err:
            raise SpecError(f"cannot read {display_name(path)}: {err.strerror}", **where) from None
        except ValueError:  # a NUL byte in the path
            raise SpecError(f"invalid file name {str(path)!r}", **where) from None
        return self._tree(data, name)

    def _tree(self, data: bytes, name: str) -> MDict:
        docs = load_yaml_documents(data, name)
        tree = MDict((name, 1, 1))
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, MDict):
                pos = getattr(doc, "pos", None)
                raise SpecError(
                    "the top level of a stack file must be a mapping",
                    file=name,
                    line=pos[1] if pos else 1,
                    column=pos[2] if pos else 1,
                )
            if self.interpolate:
                interpolate_tree(doc, self.lookup, self.on_missing)
            tree = merge_files(tree, doc) if tree else doc
        return tree
