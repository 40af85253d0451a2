"""A cache of loaded stacks: the same command on the same unchanged files skips the loader.

An entry is the :class:`Stack` a full load produced, pickled twice: as its pydantic models (for
``config``, which serializes them) and as plain records (:mod:`orchestrator.spec.records`, what
every other command reads, without importing pydantic). It is filed under a key made of everything
a load depends on besides files: the load options, the current directory, the whole process
environment, the user, the Python version, the installed pydantic's files and a fingerprint of the
loader's code.
Files are the entry's validity: every file the load opened (recorded by an audit hook that listens
only while a load runs in that thread) with the sha256 of its content or its absence, and every
path the loader only probed (``probe_is_file``: the default file names, ``.env``, ``*.override.*``)
with whether it was a file. A hit re-hashes those files and returns the stored Stack; anything
different, unreadable or foreign is a miss, never an error. Errors are never stored, nor a load
that read stdin, a file that changed while it was read or one modified within the last second
(its timestamp could not tell a later edit apart).

Entries live in ``<root>/cache/stacks/`` (one file per key, 0600, written atomically), at most
:data:`MAX_ENTRIES` of them. ``PYSTACK_NO_CACHE=1`` turns the cache off.

This module is on the path of every stack command: it imports nothing heavy until a miss.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from orchestrator.spec.models.stack import Stack

CACHE_VERSION = 2  # 2: entries hold the stack as records too (spec/records.py)
MAX_ENTRIES = 64
RACY_MARGIN_NS = 1_000_000_000  # a file modified this close to the load is not trusted by its timestamp
_SUFFIX = ".stack"
_TMP_PREFIX = ".tmp-"
_MAX_READ = 64 * 1024 * 1024

# (st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns) of a file, or None when it was absent
_StatId = tuple[int, int, int, int, int] | None


class _Uncacheable(Exception):
    """The load's files cannot be described exactly (not regular, unreadable, changing)."""


class _Recorder:
    def __init__(self) -> None:
        self.opened: dict[str, _StatId] = {}
        self.probes: dict[str, bool] = {}
        self.unstable = False


_local = threading.local()
_active = 0
_hook_lock = threading.Lock()
_hook_installed = False


def _stat_id(path: str) -> _StatId:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _active or event != "open":
        return
    try:
        rec: _Recorder | None = getattr(_local, "recorder", None)
        if rec is None or not args:
            return
        # Checked first: an import that writes a fresh .pyc (after a code update) opens it by
        # descriptor, which is no file of the stack and must not make the load uncacheable.
        if sys._getframe(1).f_code.co_filename.startswith("<frozen importlib"):
            return  # a module being imported, not a file of the stack
        if isinstance(args[0], int):
            rec.unstable = True  # an inherited descriptor: what it reads cannot be described
            return
        path = os.path.abspath(os.fsdecode(args[0]))
        if path not in rec.opened:
            try:
                rec.opened[path] = _stat_id(path)
            except (OSError, ValueError):
                rec.unstable = True
    except Exception:  # an audit hook must never break the open it watches
        rec = getattr(_local, "recorder", None)
        if rec is not None:
            rec.unstable = True


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True


@contextmanager
def _recording() -> Iterator[_Recorder]:
    global _active
    _install_hook()
    rec = _Recorder()
    outer = getattr(_local, "recorder", None)
    _local.recorder = rec
    with _hook_lock:
        _active += 1
    try:
        yield rec
    finally:
        _local.recorder = outer
        with _hook_lock:
            _active -= 1


def probe_is_file(path: Path) -> bool:
    """``path.is_file()``, remembered by a load in progress so that the answer is part of its validity."""
    result = path.is_file()
    rec: _Recorder | None = getattr(_local, "recorder", None)
    if rec is not None:
        key = os.path.abspath(path)
        if rec.probes.setdefault(key, result) != result:
            rec.unstable = True
    return result


def enabled() -> bool:
    return os.environ.get("PYSTACK_NO_CACHE", "") in ("", "0")


# --- key ------------------------------------------------------------------------------------


def _code_fingerprint() -> list[tuple[str, int, int]]:
    spec_dir = os.path.dirname(os.path.abspath(__file__))
    out: list[tuple[str, int, int]] = []

    def walk(directory: str) -> None:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    walk(entry.path)
            elif entry.name.endswith(".py"):
                st = entry.stat()
                out.append((os.path.relpath(entry.path, spec_dir), st.st_mtime_ns, st.st_size))

    walk(spec_dir)
    errors = os.path.join(os.path.dirname(spec_dir), "errors.py")
    st = os.stat(errors)
    out.append(("../errors.py", st.st_mtime_ns, st.st_size))
    return out


def _pydantic_fingerprint() -> list[tuple[str, int, int, int]]:
    """Which pydantic the stored models were pickled with, without importing it (a hit never does):
    an upgrade rewrites these files."""
    from importlib.machinery import PathFinder

    out: list[tuple[str, int, int, int]] = []
    for package, module in (("pydantic", "version.py"), ("pydantic_core", "__init__.py")):
        spec = PathFinder.find_spec(package)
        if spec is None or spec.origin is None:
            out.append((package, 0, 0, 0))
            continue
        st = os.stat(os.path.join(os.path.dirname(spec.origin), module))
        out.append((spec.origin, st.st_ino, st.st_size, st.st_mtime_ns))
    return out


def make_key(
    *,
    files: Sequence[str],
    project_name: str | None,
    project_directory: str | None,
    profiles: Sequence[str],
    env_files: Sequence[str],
    interpolate: bool,
    targets: Sequence[str],
) -> bytes:
    """Everything but the files that a load's result depends on, as bytes."""
    from orchestrator import sha256

    environ = sha256.hexdigest(repr(sorted(os.environ.items())).encode("utf-8", "backslashreplace"))
    parts = (
        CACHE_VERSION,
        [str(f) for f in files],
        [os.path.abspath(os.path.expanduser(str(f))) for f in files],
        project_name,
        project_directory,
        [str(p) for p in profiles],
        [str(e) for e in env_files],
        [os.path.abspath(os.path.expanduser(str(e))) for e in env_files],
        bool(interpolate),
        [str(t) for t in targets],
        os.getcwd(),
        environ,
        os.getuid(),
        os.geteuid(),
        sys.version,
        sys.implementation.cache_tag,
        _pydantic_fingerprint(),
        _code_fingerprint(),
    )
    return repr(parts).encode("utf-8", "backslashreplace")


# --- file states ------------------------------------------------------------------------------


def _content_hash(path: str) -> tuple[str, _StatId]:
    """sha256 of a regular file's content and its identity while read; anything else is uncacheable."""
    from orchestrator import sha256

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_READ:
            raise _Uncacheable(path)
        digest = sha256.new()
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest(), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _current_state(path: str) -> str | None:
    """What a hit compares: the content hash, or None for an absent path."""
    try:
        return _content_hash(path)[0]
    except (FileNotFoundError, NotADirectoryError):
        return None


def _stored_states(rec: _Recorder, started_ns: int) -> tuple[dict[str, str | None], dict[str, bool]]:
    """The recorded files as they are now, when that is provably what the load saw."""
    if rec.unstable:
        raise _Uncacheable("unstable")
    limit = started_ns - RACY_MARGIN_NS
    files: dict[str, str | None] = {}
    for path, seen in rec.opened.items():
        if seen is None:
            if _stat_id(path) is not None:
                raise _Uncacheable(path)  # appeared during the load
            files[path] = None
            continue
        digest, while_read = _content_hash(path)
        if while_read != seen or _stat_id(path) != seen:
            raise _Uncacheable(path)  # changed during the load
        if max(seen[3], seen[4]) >= limit:
            raise _Uncacheable(path)  # too recent for its timestamps to prove it unchanged
        files[path] = digest
    for path, was_file in rec.probes.items():
        if Path(path).is_file() != was_file:
            raise _Uncacheable(path)
    return files, dict(rec.probes)


# --- entries ----------------------------------------------------------------------------------


def _entry_path(cache_dir: Path, key: bytes) -> Path:
    from orchestrator import sha256

    return cache_dir / (sha256.hexdigest(key) + _SUFFIX)


def _read_entry(path: Path, key: bytes, models: bool) -> Stack | None:
    """The stored stack: its pydantic models when ``models``, else its records (no pydantic import)."""
    import pickle

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            return None  # only our own private files are unpickled
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read()
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        entry = pickle.loads(data)
        if not isinstance(entry, dict) or entry.get("version") != CACHE_VERSION or entry.get("key") != key:
            return None
        for file, expected in entry["files"].items():
            if _current_state(file) != expected:
                return None
        for probe, was_file in entry["probes"].items():
            if Path(probe).is_file() != was_file:
                return None
        stack = pickle.loads(entry["stack" if models else "records"])
    except Exception:  # corrupt, foreign or unreadable: a miss
        return None
    if models:
        from orchestrator.spec.models.stack import Stack

        if not isinstance(stack, Stack):
            return None
    else:
        from orchestrator.spec.records import is_record_of

        if not is_record_of(stack, "Stack"):
            return None
    with suppress(OSError):
        os.utime(path)  # most recently used: pruned last
    return cast("Stack", stack)  # records stand for the Stack they were made from (spec/records.py)


def _write_entry(cache_dir: Path, key: bytes, stack: Stack, files: dict[str, str | None],
                 probes: dict[str, bool]) -> None:
    import pickle
    import tempfile

    from orchestrator.spec.records import to_records

    payload = pickle.dumps(
        {"version": CACHE_VERSION, "key": key, "files": files, "probes": probes,
         "stack": pickle.dumps(stack, protocol=pickle.HIGHEST_PROTOCOL),
         "records": pickle.dumps(to_records(stack), protocol=pickle.HIGHEST_PROTOCOL)},
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    cache_dir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    cache_dir.mkdir(exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=cache_dir)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, _entry_path(cache_dir, key))
    except BaseException:
        _unlink(tmp)
        raise
    _prune(cache_dir)


def _prune(cache_dir: Path) -> None:
    """At most MAX_ENTRIES entries (the least recently used go); stale temporary files go too."""
    entries: list[tuple[int, str]] = []
    now = time.time()
    with os.scandir(cache_dir) as it:
        for e in it:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if e.name.endswith(_SUFFIX):
                entries.append((st.st_mtime_ns, e.path))
            elif e.name.startswith(_TMP_PREFIX) and now - st.st_mtime > 3600:
                _unlink(e.path)
    entries.sort()
    for _, path in entries[: max(0, len(entries) - MAX_ENTRIES)]:
        _unlink(path)


def _unlink(path: str) -> None:
    with suppress(OSError):
        os.unlink(path)


# --- the entry point --------------------------------------------------------------------------


def load_stack_cached(
    *,
    files: Sequence[str],
    project_name: str | None,
    project_directory: str | None,
    profiles: Sequence[str],
    env_files: Sequence[str],
    interpolate: bool = True,
    targets: Sequence[str] = (),
    cache_dir: Path | None,
    load: Callable[[], Stack] | None = None,
    models: bool = False,
) -> Stack:
    """The Stack of these options: from the cache when every input is unchanged, else a full load.

    ``load`` is the full load (by default :func:`orchestrator.spec.stack.load_stack` of these options).
    A hit returns the stack's records (:mod:`orchestrator.spec.records`: typed as the Stack they
    stand for, with its fields and methods) unless ``models`` asks for the pydantic models; a full
    load returns the models.
    """
    options = {"files": list(files), "project_name": project_name, "project_directory": project_directory,
               "profiles": list(profiles), "env_files": list(env_files), "interpolate": interpolate}

    def full() -> Stack:
        if load is not None:
            return load()
        from orchestrator.spec.project import LoadOptions
        from orchestrator.spec.stack import load_stack

        return load_stack(LoadOptions(**options), targets=targets)  # type: ignore[arg-type]

    if cache_dir is None or not enabled() or "-" in files:
        return full()
    try:
        key = make_key(targets=targets, **options)  # type: ignore[arg-type]
        entry = _entry_path(cache_dir, key)
    except Exception:
        return full()
    cached = _read_entry(entry, key, models)
    if cached is not None:
        return cached
    started = time.time_ns()
    with _recording() as rec:
        stack = full()
    try:
        for svc in stack.services.values():
            svc.as_json()  # stored with the entry, so that a hit never builds the serializer
        states, probes = _stored_states(rec, started)
        _write_entry(cache_dir, key, stack, states, probes)
    except Exception:  # not cacheable, or the cache is not writable: the load stands
        pass
    return stack
