"""The build cache: step key → what the step produced (a layer, or nothing) and when.

A step's key chains its parent's key, the instruction after expansion, and what it depends on
(content hash of copied files, environment of a RUN, the source stage of ``COPY --from``), so a
change anywhere invalidates that step and everything after it, and nothing before. Entries are
small JSON files under ``Paths.build_cache/cache/``, written atomically; the recorded creation
time is reused on a hit so that an unchanged rebuild gives the very same image id.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from orchestrator.images.model import LayerRef


def step_key(parent: str, *parts: str) -> str:
    h = hashlib.sha256(parent.encode())
    for p in parts:
        h.update(b"\0" + p.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """What a cached step produced: its layer (None for a step that changes only the config) and when."""
    created: str
    layer: LayerRef | None


class BuildCache:
    def __init__(self, root: Path) -> None:
        self.dir = root / "cache"

    def get(self, key: str) -> CacheEntry | None:
        try:
            doc = json.loads((self.dir / key).read_text())
        except (FileNotFoundError, ValueError):
            return None
        layer = doc.get("layer")
        return CacheEntry(
            created=str(doc["created"]),
            layer=LayerRef(layer["diff_id"], layer["digest"], int(layer["size"]), layer["media_type"])
            if layer else None,
        )

    def put(self, key: str, entry: CacheEntry) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        layer = entry.layer
        doc = {"created": entry.created,
               "layer": None if layer is None else {"diff_id": layer.diff_id, "digest": layer.digest,
                                                    "size": layer.size, "media_type": layer.media_type}}
        tmp = self.dir / f".{key}.{os.getpid()}"
        tmp.write_text(json.dumps(doc, sort_keys=True))
        os.replace(tmp, self.dir / key)

    def clear(self) -> int:
        if not self.dir.is_dir():
            return 0
        n = 0
        for p in self.dir.iterdir():
            p.unlink(missing_ok=True)
            n += 1
        return n
