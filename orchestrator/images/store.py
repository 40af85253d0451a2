"""ImageStore: names → manifests in the state database, blobs in the content store, layers unpacked once.

The database says which images exist; the content store holds their bytes. An image is recorded
only after every blob it needs is present and verified, so a half-finished pull or load never
shows up as an image. Removing an image deletes only the blobs and layer directories that no
remaining image uses, and never an image a container holds (see :meth:`acquire`). A store-wide
lock (shared for writers, exclusive for removal) keeps a removal from deleting a blob that a
concurrent pull is about to reference. The layer code (and the archive modules it needs) is imported
by the methods that unpack or remove layers: every ``up`` reads the store, few write it.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from orchestrator.errors import ImageError
from orchestrator.images import manifest as mf
from orchestrator.images import reference
from orchestrator.images.content import ContentStore
from orchestrator.images.model import Image, LayerRef
from orchestrator.images.progress import Progress
from orchestrator.paths import Paths
from orchestrator.state import db

__all__ = ["Image", "ImageStore", "LayerRef"]

db.register_schema(
    "images",
    """
    CREATE TABLE IF NOT EXISTS images_manifests (
        digest TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        config_digest TEXT NOT NULL,
        created TEXT,
        size INTEGER NOT NULL,
        added REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS images_layers (
        manifest_digest TEXT NOT NULL REFERENCES images_manifests(digest) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        digest TEXT NOT NULL,
        diff_id TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (manifest_digest, idx)
    );
    CREATE INDEX IF NOT EXISTS images_layers_diff ON images_layers(diff_id);
    CREATE TABLE IF NOT EXISTS images_refs (
        ref TEXT PRIMARY KEY,
        manifest_digest TEXT NOT NULL REFERENCES images_manifests(digest)
    );
    CREATE TABLE IF NOT EXISTS images_holders (
        holder TEXT PRIMARY KEY,
        manifest_digest TEXT NOT NULL
    );
    """,
)

_HEXID = re.compile(r"(?:sha256:)?([0-9a-f]{6,64})\Z")
ProgressFn = Callable[[str], None] | Progress


def not_found(ref: str) -> ImageError:
    return ImageError(f'image "{ref}" not found locally; pull it or build it')


class ImageStore:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.content = ContentStore(paths)
        self._conn: sqlite3.Connection | None = None

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.paths.root.mkdir(parents=True, exist_ok=True)
            self._conn = db.connect(self.paths.state_db)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def _lock(self, exclusive: bool) -> Iterator[None]:
        lock = self.paths.blobs.parent / "store.lock"
        lock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(lock, "a") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """Hold while adding blobs that a manifest will reference (pull, load, build)."""
        return self._lock(exclusive=False)

    # -- reading ----------------------------------------------------------------------------
    def _image(self, digest: str, ref: str | None) -> Image:
        row = self.conn.execute("SELECT * FROM images_manifests WHERE digest=?", (digest,)).fetchone()
        if row is None:
            raise not_found(ref or digest)
        layers = [
            LayerRef(r["diff_id"], r["digest"], r["size"], r["media_type"])
            for r in self.conn.execute(
                "SELECT * FROM images_layers WHERE manifest_digest=? ORDER BY idx", (digest,)
            )
        ]
        config = json.loads(self.content.read_bytes(row["config_digest"]))
        refs = [r[0] for r in self.conn.execute(
            "SELECT ref FROM images_refs WHERE manifest_digest=? ORDER BY ref", (digest,))]
        return Image(ref=ref, manifest_digest=digest, config_digest=row["config_digest"], config=config,
                     layers=layers, created=row["created"], size=row["size"], media_type=row["media_type"],
                     refs=refs)

    def _lookup(self, ref: str) -> tuple[str, str | None] | None:
        """(manifest digest, canonical ref or None) for a name, a name@digest, or an image id prefix."""
        text = ref.strip()
        parsed: reference.Reference | None
        try:
            parsed = reference.parse(text)
        except ImageError:
            parsed = None
        if parsed is not None:
            row = self.conn.execute("SELECT manifest_digest FROM images_refs WHERE ref=?",
                                    (str(parsed),)).fetchone()
            if row is not None:
                return row[0], str(parsed)
            if parsed.digest:
                row = self.conn.execute("SELECT digest FROM images_manifests WHERE digest=?",
                                        (parsed.digest,)).fetchone()
                if row is not None:
                    return row[0], str(parsed)
        m = _HEXID.match(text)
        if m:
            prefix = "sha256:" + m.group(1)
            rows = self.conn.execute(
                "SELECT digest FROM images_manifests WHERE config_digest LIKE ? OR digest LIKE ?",
                (prefix + "%", prefix + "%"),
            ).fetchall()
            found = {r[0] for r in rows}
            if len(found) > 1:
                raise ImageError(f'image id "{text}" is ambiguous: it matches {len(found)} images')
            if found:
                return found.pop(), None
        if parsed is None:
            reference.parse(text)  # re-raise the parse error: the input was neither a name nor an id
        return None

    def resolve(self, ref: str) -> Image:
        hit = self._lookup(ref)
        if hit is None:
            raise not_found(ref)
        return self._image(*hit)

    def exists(self, ref: str) -> bool:
        try:
            return self._lookup(ref) is not None
        except ImageError:
            return False

    def list(self) -> builtins.list[Image]:
        """One entry per name (like ``docker images``), plus one per unnamed (dangling) image."""
        out: builtins.list[Image] = []
        named: set[str] = set()
        for r in self.conn.execute("SELECT ref, manifest_digest FROM images_refs ORDER BY ref").fetchall():
            out.append(self._image(r[1], r[0]))
            named.add(r[1])
        for r in self.conn.execute("SELECT digest FROM images_manifests ORDER BY added").fetchall():
            if r[0] not in named:
                out.append(self._image(r[0], None))
        return out

    # -- recording --------------------------------------------------------------------------
    def register_manifest(self, manifest_digest: str, refs: builtins.list[str]) -> Image:
        """Record a manifest whose manifest, config and layer blobs are all in the content store."""
        raw = self.content.read_bytes(manifest_digest)
        doc = json.loads(raw)
        media_type = doc.get("mediaType") or mf.OCI_MANIFEST
        if media_type not in mf.MANIFEST_TYPES:
            raise ImageError(f"{manifest_digest} is a {media_type}, not an image manifest")
        cfg_desc = doc.get("config") or {}
        config = json.loads(self.content.read_bytes(cfg_desc["digest"]))
        diff_ids = ((config.get("rootfs") or {}).get("diff_ids")) or []
        layer_descs = mf.manifest_layers(doc)
        if len(diff_ids) != len(layer_descs):
            raise ImageError(f"image {manifest_digest}: config lists {len(diff_ids)} diff_ids "
                             f"for {len(layer_descs)} layers")
        rows = []
        for i, (desc, diff_id) in enumerate(zip(layer_descs, diff_ids, strict=True)):
            if not self.content.has(desc["digest"]):
                raise ImageError(f"image {manifest_digest}: layer blob {desc['digest']} is missing")
            rows.append((manifest_digest, i, desc["digest"], diff_id, desc.get("mediaType", mf.OCI_LAYER),
                         int(desc["size"])))
        size = sum(int(d["size"]) for d in layer_descs) + int(cfg_desc.get("size", 0))
        canon = [reference.normalize(r) for r in refs]
        with db.transaction(self.conn) as c:
            c.execute(
                "INSERT OR IGNORE INTO images_manifests"
                "(digest, media_type, config_digest, created, size, added) VALUES (?,?,?,?,?,?)",
                (manifest_digest, media_type, cfg_desc["digest"], config.get("created"), size, time.time()),
            )
            c.executemany("INSERT OR IGNORE INTO images_layers VALUES (?,?,?,?,?,?)", rows)
            for r in canon:
                c.execute("INSERT OR REPLACE INTO images_refs(ref, manifest_digest) VALUES (?,?)",
                          (r, manifest_digest))
        return self._image(manifest_digest, canon[0] if canon else None)

    def write_image(self, config: dict[str, Any] | bytes, layers: builtins.list[LayerRef],
                    refs: builtins.list[str], annotations: dict[str, str] | None = None) -> Image:
        """Write config + OCI manifest for layers already in the content store, and record them.

        Config bytes given as bytes are kept exactly, so a loaded image keeps its image id.
        """
        cfg = config if isinstance(config, bytes) else mf.canonical_json(config)
        cfg_digest = self.content.write_bytes(cfg)
        manifest = mf.build_manifest(
            mf.descriptor(mf.OCI_CONFIG, cfg_digest, len(cfg)),
            [mf.descriptor(lr.media_type, lr.digest, lr.size) for lr in layers],
            annotations,
        )
        digest = self.content.write_bytes(mf.canonical_json(manifest))
        return self.register_manifest(digest, refs)

    def add_image(self, layers: Sequence[Path | tuple[str, Path]],
                  config: dict[str, Any], ref: str | None) -> Image:
        """Store layer tar blobs (plain, gzip or zstd), a config and an OCI manifest; tag it ``ref``.

        A bare path is hashed (and, when compressed, decompressed) to learn its diff_id; a
        ``(diff_id, path)`` pair is trusted as the builder computed it while making the layer.
        """
        refs = [ref] if ref else []
        if ref:
            reference.parse(ref)
        with self.writing():
            from orchestrator.images import layers as layerdirs

            stored = [layerdirs.ingest_layer_blob(self.content, item) for item in layers]
            full = mf.complete_config(config, [lr.diff_id for lr in stored], created=config.get("created"))
            return self.write_image(full, stored, refs)

    def import_rootfs(self, tar_path: Path, ref: str, *, config: dict[str, Any] | None = None) -> Image:
        """A root filesystem tar (plain or compressed) as a one-layer image, like ``docker import``.

        ``config`` may be a whole OCI image config or just its runtime part (Env, Cmd, ...).
        """
        cfg = dict(config or {})
        if not any(k in cfg for k in ("config", "architecture", "os", "rootfs", "history")):
            cfg = {"config": cfg} if cfg else {}
        inner = dict(cfg.get("config") or {})
        inner.setdefault("Env", ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        cfg["config"] = inner
        created = cfg.get("created") or mf.now_rfc3339()
        cfg["created"] = created
        cfg.setdefault("history", [{"created": created, "created_by": f"pystack import {tar_path.name}",
                                    "comment": "imported from a root filesystem tar"}])
        if not tar_path.is_file():
            raise ImageError(f"cannot import {tar_path}: no such file")
        return self.add_image([tar_path], cfg, ref)

    def tag(self, src: str, ref: str) -> None:
        hit = self._lookup(src)
        if hit is None:
            raise not_found(src)
        canon = reference.normalize(ref)
        with db.transaction(self.conn) as c:
            c.execute("INSERT OR REPLACE INTO images_refs(ref, manifest_digest) VALUES (?,?)",
                      (canon, hit[0]))

    # -- containers hold images -------------------------------------------------------------
    def acquire(self, image: Image, holder: str) -> None:
        with db.transaction(self.conn) as c:
            c.execute("INSERT OR REPLACE INTO images_holders(holder, manifest_digest) VALUES (?,?)",
                      (holder, image.manifest_digest))

    def release(self, holder: str) -> None:
        with db.transaction(self.conn) as c:
            c.execute("DELETE FROM images_holders WHERE holder=?", (holder,))

    def release_all(self, holders: Sequence[str]) -> None:
        """:meth:`release` of many holders in one transaction."""
        if holders:
            with db.transaction(self.conn) as c:
                c.executemany("DELETE FROM images_holders WHERE holder=?", [(h,) for h in holders])

    def holders(self, manifest_digest: str) -> builtins.list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT holder FROM images_holders WHERE manifest_digest=? ORDER BY holder", (manifest_digest,))]

    # -- layers -----------------------------------------------------------------------------
    def layer_dirs(self, image: Image) -> builtins.list[Path]:
        """The unpacked directory of each layer, lowest first; unpacks (once, shared) what is missing."""
        with self.writing():
            from orchestrator.images import layers as layerdirs

            return [layerdirs.ensure_unpacked(self.paths, self.content, lr) for lr in image.layers]

    # -- removal ----------------------------------------------------------------------------
    def remove(self, ref: str, *, force: bool = False) -> builtins.list[str]:
        """Untag ``ref``; delete the image when no name is left and no container holds it."""
        with self._lock(exclusive=True):
            hit = self._lookup(ref)
            if hit is None:
                raise not_found(ref)
            digest, canon = hit
            refs = [r[0] for r in self.conn.execute(
                "SELECT ref FROM images_refs WHERE manifest_digest=?", (digest,))]
            if canon is None or canon not in refs:  # removal by id: every name goes
                if len(refs) > 1 and not force:
                    names = ", ".join(map(reference.familiar, refs))
                    raise ImageError(f'image "{ref}" has {len(refs)} names ({names});'
                                     " remove them by name or use --force")
                untag = refs
            else:
                untag = [canon]
            remaining = [r for r in refs if r not in untag]
            holders = self.holders(digest)
            if not remaining and holders and not force:
                raise ImageError(f'image "{ref}" is in use by container {holders[0]};'
                                 " stop and remove it first or use --force")
            out = [f"Untagged: {reference.familiar(r)}" for r in untag]
            with db.transaction(self.conn) as c:
                c.executemany("DELETE FROM images_refs WHERE ref=?", [(r,) for r in untag])
            if not remaining and not holders:
                out += self._delete_manifests([digest])
            return out

    def prune(self, *, all: bool = False) -> builtins.list[str]:
        """Delete unnamed images (every unused image with ``all``) that no container holds."""
        with self._lock(exclusive=True):
            held = {r[0] for r in self.conn.execute("SELECT manifest_digest FROM images_holders")}
            named = {r[0] for r in self.conn.execute("SELECT manifest_digest FROM images_refs")}
            victims = [r[0] for r in self.conn.execute("SELECT digest FROM images_manifests")
                       if r[0] not in held and (all or r[0] not in named)]
            out: builtins.list[str] = []
            if all:
                rows = self.conn.execute("SELECT ref, manifest_digest FROM images_refs").fetchall()
                gone = [(r[0],) for r in rows if r[1] in victims]
                with db.transaction(self.conn) as c:
                    c.executemany("DELETE FROM images_refs WHERE ref=?", gone)
                out += [f"Untagged: {reference.familiar(r[0])}" for r in gone]
            out += self._delete_manifests(victims)
            self._sweep_leftovers()
            return out

    def _sweep_leftovers(self, max_age: float = 3600.0) -> None:
        """Temporary blobs and half-unpacked layers a crash left behind (old enough to be nobody's)."""
        import shutil

        cutoff = time.time() - max_age
        places = [(self.content.ingest_dir, ("in-",)), (self.paths.layers, (".tmp-", ".del-"))]
        for where, prefixes in places:
            with contextlib.suppress(FileNotFoundError):
                for p in where.iterdir():
                    if not p.name.startswith(prefixes) or p.lstat().st_mtime > cutoff:
                        continue
                    if p.is_dir() and not p.is_symlink():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink(missing_ok=True)

    def prune_if_dangling(self, manifest_digest: str) -> builtins.list[str]:
        """Delete this image if nothing names it and no container holds it (a rebuild's old image)."""
        with self._lock(exclusive=True):
            named = self.conn.execute("SELECT 1 FROM images_refs WHERE manifest_digest=?",
                                      (manifest_digest,)).fetchone()
            if named is not None or self.holders(manifest_digest):
                return []
            return self._delete_manifests([manifest_digest])

    def _delete_manifests(self, digests: builtins.list[str]) -> builtins.list[str]:
        """Drop manifests, then exactly the blobs and layer dirs that only they used."""
        if not digests:
            return []
        q = ",".join("?" * len(digests))
        candidates: set[str] = set(digests)
        diff_ids: set[str] = set()
        images: builtins.list[str] = []
        for row in self.conn.execute(
                f"SELECT digest, config_digest FROM images_manifests WHERE digest IN ({q})", digests):
            candidates.add(row[1])
            images.append(row[1])
        for row in self.conn.execute(
                f"SELECT digest, diff_id FROM images_layers WHERE manifest_digest IN ({q})", digests):
            candidates.add(row[0])
            diff_ids.add(row[1])
        with db.transaction(self.conn) as c:
            c.execute(f"DELETE FROM images_layers WHERE manifest_digest IN ({q})", digests)
            c.execute(f"DELETE FROM images_manifests WHERE digest IN ({q})", digests)
        used: set[str] = set()
        for row in self.conn.execute("SELECT digest, config_digest FROM images_manifests"):
            used.update(row)
        used_diffs: set[str] = set()
        for row in self.conn.execute("SELECT digest, diff_id FROM images_layers"):
            used.add(row[0])
            used_diffs.add(row[1])
        for d in sorted(candidates - used):
            self.content.delete(d)
        from orchestrator.images import layers as layerdirs

        for d in sorted(diff_ids - used_diffs):
            layerdirs.remove_unpacked(self.paths, d)
        return [f"Deleted: {d}" for d in images]

    # -- transfer (implemented in their own modules) ----------------------------------------
    def load(self, path: Path) -> builtins.list[Image]:
        from orchestrator.images import archive

        with self.writing():
            return archive.load(self, path)

    def save(self, refs: builtins.list[str], out: Path, *,
             format: Literal["docker", "oci"] = "docker") -> None:
        from orchestrator.images import archive

        archive.save(self, [self.resolve(r) for r in refs], out, format=format)

    def pull(self, ref: str, *, platform: str | None = None, insecure: bool = False,
             progress: ProgressFn | None = None) -> Image:
        from orchestrator.images import distribution

        with self.writing():
            return distribution.pull(self, ref, platform=platform, insecure=insecure, progress=progress)

    def push(self, ref: str, *, insecure: bool = False, progress: ProgressFn | None = None) -> None:
        from orchestrator.images import distribution

        distribution.push(self, ref, insecure=insecure, progress=progress)
