"""``-f oci://REF``: a stack published to a registry, fetched into local files the loader then reads.

The files land in ``<root>/cache/remote/<manifest digest>/<repository name>/``: one directory per
published version, so a tag that moves is fetched again while an unchanged one is not rewritten, and
named after the repository so that a file without ``name:`` gets the repository's name as its
project name (as a checkout in a directory of that name would). The published files, the files they
extend and their env files are written side by side under the names the artifact gives; a name with
a path in it is refused, so that nothing published writes outside that directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.cli.options import GlobalOptions
from orchestrator.errors import PystackError

if TYPE_CHECKING:
    from orchestrator.images.stack_artifact import Part

PREFIX = "oci://"


def is_remote(file: str) -> bool:
    return file.startswith(PREFIX)


def _safe_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise PystackError(f"the artifact names a file {name!r}, which is not a plain file name")
    return name


def fetch_files(ref: str, cache: Path) -> list[Path]:
    """The stack files of the artifact ``ref`` as local paths, in the order they were published."""
    from orchestrator.images import reference
    from orchestrator.images import stack_artifact as art
    from orchestrator.spec.project import normalize_project_name

    try:
        parsed = reference.parse(ref)
    except PystackError as exc:
        raise PystackError(f"{PREFIX}{ref}: {exc}") from None
    try:
        artifact = art.open_artifact(ref)
        mains = [p for p in artifact.layers if p.media_type == art.FILE_MEDIA and art.EXTENDS_KEY not in p.annotations]
        if not mains:
            raise PystackError("the artifact holds no stack file")
        kept = (art.FILE_MEDIA, art.ENVFILE_MEDIA)
        names = [_safe_name(p.name) for p in artifact.layers if p.media_type in kept]
        if len(set(names)) != len(names):
            raise PystackError("the artifact names the same file twice")
        leaf = normalize_project_name(parsed.path.rsplit("/", 1)[-1]) or "stack"
        where = cache / "remote" / artifact.digest.removeprefix("sha256:") / leaf
        if not where.is_dir():
            _write(where, [p for p in artifact.parts() if p.media_type in kept])
    except PystackError as exc:
        raise PystackError(f"-f {PREFIX}{ref}: {exc}") from None
    return [where / p.name for p in mains]


def _write(where: Path, parts: list[Part]) -> None:
    """The files, written in a fresh directory that is then renamed ``where`` whole: a reader never
    sees a version half written."""
    where.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=where.parent))
    try:
        for part in parts:
            fd = os.open(tmp / _safe_name(part.name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(part.data)
        try:
            os.rename(tmp, where)
        except OSError:  # another command fetched the same version meanwhile: keep its copy
            if not where.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def materialize(opts: GlobalOptions) -> None:
    """Replace every ``oci://`` entry of ``-f`` by the files it names, fetched as needed."""
    from orchestrator.paths import Paths

    cache = Paths.from_env(opts.root).cache
    files: list[str] = []
    for f in opts.files:
        if is_remote(f):
            files.extend(str(p) for p in fetch_files(f[len(PREFIX):], cache))
        else:
            files.append(f)
    opts.files = files
