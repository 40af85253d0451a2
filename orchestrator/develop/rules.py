"""What a batch of changed host paths asks of each service, by its ``develop.watch`` rules. Pure.

As Compose has it: a rule's ``path`` is watched recursively; a change below it counts unless an
``ignore`` pattern (``.dockerignore`` syntax, relative to the rule's path) or the service's build
context's ``.dockerignore`` (relative to the context) names it, it lies in a ``.git`` directory, or
it is an editor's temporary or backup file; with ``include`` patterns, only what they name counts.
Per service, the batch then becomes one piece of :class:`Work`: a rebuild makes the image anew,
which already holds the files, so it stands for the whole batch; otherwise the sync rules' files
are copied (``target`` plus the path below the rule's), and then the service restarts once if any
``restart`` or ``sync+restart`` rule saw a change, and each ``sync+exec`` rule's command runs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.images.build.dockerignore import Ignore

# Backup and swap files of the usual editors (vim, emacs, JetBrains, macOS), as Compose skips them.
_EDITOR_FILES = re.compile(r"(~|\.sw[a-px]|\.swpx|___jb_(tmp|old|bak)___|\.tmp\.\d+(\.\d+)?)$"
                           r"|^(\.#.*|#.*#|4913|\.DS_Store)$")


@dataclass(frozen=True)
class Rule:
    """One ``develop.watch`` entry of a service, with the patterns it is read with."""

    service: str
    index: int
    path: str  # absolute host path
    action: str  # sync | rebuild | restart | sync+restart | sync+exec
    target: str | None = None
    ignore: Ignore = field(default_factory=lambda: Ignore([]))
    include: Ignore | None = None
    context: str | None = None  # the service's build context, whose .dockerignore applies too
    context_ignore: Ignore = field(default_factory=lambda: Ignore([]))
    exec: Mapping[str, Any] | None = None
    initial_sync: bool = False

    @property
    def syncs(self) -> bool:
        return self.action.startswith("sync")

    def relative(self, path: str) -> str | None:
        """``path`` below the rule's path ("" for the path itself), or None when it is not below it."""
        if path == self.path:
            return ""
        if path.startswith(self.path.rstrip("/") + "/"):
            return path[len(self.path.rstrip("/")) + 1:]
        return None

    def counts(self, path: str) -> bool:
        """Whether a change of ``path`` triggers this rule."""
        rel = self.relative(path)
        if rel is None:
            return False
        parts = rel.split("/") if rel else []
        if ".git" in parts or (parts and _EDITOR_FILES.search(parts[-1])):
            return False
        if rel and self.ignore.ignored(rel):
            return False
        if self.context is not None:
            crel = relative_to(path, self.context)
            if crel and self.context_ignore.ignored(crel):
                return False
        return not (self.include is not None and rel and not self.include.ignored(rel))

    def prunable(self, directory: str) -> bool:
        """Whether nothing below ``directory`` can ever count (so it need not be watched)."""
        rel = self.relative(directory)
        if rel is None:
            return not (self.path + "/").startswith(directory.rstrip("/") + "/")  # not on the way down either
        if not rel:
            return False
        if ".git" in rel.split("/"):
            return True
        return self.ignore.prunable(rel)

    def container_path(self, path: str) -> str:
        """Where ``path`` (below the rule's path) goes in the container."""
        assert self.target is not None
        rel = self.relative(path) or ""
        return posixpath.normpath(posixpath.join(self.target, rel)) if rel else self.target


def relative_to(path: str, top: str) -> str | None:
    if path == top:
        return ""
    prefix = top.rstrip("/") + "/"
    return path[len(prefix):] if path.startswith(prefix) else None


def rules_of(service: str, develop: Mapping[str, Any] | None, *, context: str | None = None,
             dockerignore: Iterable[str] = ()) -> list[Rule]:
    """A service's rules from its normalized ``develop`` (see ``normalize_service._develop``);
    ``dockerignore`` is its build context's ``.dockerignore`` lines, read by the caller."""
    out: list[Rule] = []
    context_ignore = Ignore(list(dockerignore))
    for i, raw in enumerate((develop or {}).get("watch", [])):
        include = raw.get("include") or []
        out.append(Rule(
            service=service, index=i, path=raw["path"].rstrip("/") or "/", action=raw["action"],
            target=raw.get("target"), ignore=Ignore(list(raw.get("ignore") or [])),
            include=Ignore(list(include)) if include else None, context=context, context_ignore=context_ignore,
            exec=raw.get("exec"), initial_sync=bool(raw.get("initial_sync")),
        ))
    return out


@dataclass
class Work:
    """What one batch asks of one service."""

    service: str
    changes: int = 0  # changed paths that counted
    sync: dict[str, str] = field(default_factory=dict)  # container path -> host path (sorted when applied)
    rebuild: bool = False
    restart: bool = False
    execs: list[Mapping[str, Any]] = field(default_factory=list)


def route(rules: Iterable[Rule], changed: Iterable[str]) -> dict[str, Work]:
    """The work per service for a batch of changed paths; services without any are left out."""
    paths = sorted(set(changed))
    work: dict[str, Work] = {}
    for rule in rules:
        hits = [p for p in paths if rule.counts(p)]
        if not hits:
            continue
        w = work.setdefault(rule.service, Work(rule.service))
        w.changes += len(hits)
        if rule.action == "rebuild":
            w.rebuild = True
        if rule.syncs:
            for p in hits:
                w.sync[rule.container_path(p)] = p
        if rule.action in ("restart", "sync+restart"):
            w.restart = True
        if rule.action == "sync+exec" and rule.exec is not None:
            w.execs.append(rule.exec)
    for w in work.values():
        if w.rebuild:  # the new image has the files and a new container runs it: nothing else to do
            w.sync.clear()
            w.restart = False
            w.execs.clear()
    return work


def prunable(rules: Iterable[Rule], directory: str) -> bool:
    """A directory no rule can see a counted change in."""
    return all(r.prunable(directory) for r in rules)
