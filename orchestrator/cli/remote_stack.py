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
from collections.abc import MutableMapping
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


def fetch_files(ref: str, cache: Path, origin: str = "-f ") -> list[Path]:
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
        raise PystackError(f"{origin}{PREFIX}{ref}: {exc}") from None
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


def compose_file_entries(value: str, separator: str | None) -> list[str]:
    """``COMPOSE_FILE`` split as the loader splits it, except that with the default ``:`` separator
    a value that starts with ``oci://`` is one reference: its registry port and tag hold colons.
    Mixing a reference with other files takes ``COMPOSE_PATH_SEPARATOR`` (``,`` for example)."""
    sep = separator or os.pathsep
    if not separator and sep == ":" and is_remote(value):
        return [value]
    return [f for f in value.split(sep) if f]


def materialize_compose_file(environ: MutableMapping[str, str], dotenv: list[tuple[Path, str]],
                             root: Path | None) -> None:
    """Replace the ``oci://`` entries of ``COMPOSE_FILE`` (from the shell, else from the project's
    env file) by the files they name, so that the loader reads the fetched copies as it would read
    local ones; the shell's value wins over the env file's, as it does for the loader."""
    value = environ.get("COMPOSE_FILE")
    separator = environ.get("COMPOSE_PATH_SEPARATOR")
    if value is None:
        found = _from_dotenv(dotenv, environ)
        value = found.get("COMPOSE_FILE")
        separator = separator or found.get("COMPOSE_PATH_SEPARATOR")
    if not value or PREFIX not in value:
        return
    from orchestrator.paths import Paths

    cache = Paths.from_env(root).cache
    files: list[str] = []
    for f in compose_file_entries(value, separator):
        if is_remote(f):
            files.extend(str(p) for p in fetch_files(f[len(PREFIX):], cache, origin="COMPOSE_FILE="))
        else:
            files.append(f)
    sep = separator or os.pathsep
    environ["COMPOSE_FILE"] = sep.join(files)
    if separator:
        environ["COMPOSE_PATH_SEPARATOR"] = separator


def _from_dotenv(texts: list[tuple[Path, str]], environ: MutableMapping[str, str]) -> dict[str, str]:
    """``COMPOSE_FILE`` and ``COMPOSE_PATH_SEPARATOR`` of the env files (as the command read them),
    through the real parser only for those that name a remote stack."""
    from orchestrator.errors import PystackError
    from orchestrator.spec.dotenv import lookup_in, parse_dotenv

    found: dict[str, str] = {}
    for path, text in texts:
        if PREFIX not in text:
            continue
        try:
            found.update(parse_dotenv(text, filename=str(path), lookup=lookup_in(dict(environ), found)))
        except PystackError:
            continue  # the loader reports a broken env file, with its line, when it reads it
    return {k: v for k, v in found.items() if k in ("COMPOSE_FILE", "COMPOSE_PATH_SEPARATOR")}


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
