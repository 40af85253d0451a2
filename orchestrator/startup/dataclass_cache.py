"""The methods ``dataclasses`` writes for each class are compiled once per Python version, not once per command.

For every dataclass, the standard library writes the source of ``__init__``, ``__repr__``, ``__eq__``
(and ``__setattr__``/``__delattr__`` when frozen) and compiles it with ``exec`` at import. A command
imports about thirty dataclasses on its way to doing anything, and compiling their ~150 small
functions took 15 ms of a 90 ms ``up`` with nothing to do: more than any single module's import.
Python caches the bytecode of modules in ``__pycache__``; this does the same for that generated
source. ``dataclasses`` looks ``exec`` up in its own module globals before the builtins, so
:func:`install` puts a stand-in there that compiles each source text once, stores the code
object, and on later runs finds it by the exact text. Nothing else changes: the code is what
``exec`` would have compiled from the same text (same file name, same flags), and it runs with
the same globals and locals. A Python whose ``dataclasses`` stops calling ``exec`` with a string
simply never consults the cache.

The cache is one file beside the package's bytecode, named for the interpreter's cache tag and
stamped with its bytecode magic number. Each code object is kept marshalled on its own and only
unmarshalled when its class is made: a command uses a fraction of the entries, and building them all
cost 3 ms at each start. The file is read only if it belongs to this user and nobody
else may write it (it holds code), and a file that is missing, foreign or damaged counts as empty.
New entries are written at exit, atomically, unless bytecode writing is off
(``PYTHONDONTWRITEBYTECODE``) or ``PYSTACK_NO_CACHE=1``, which also stops reading it.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import marshal
import os
import stat
import sys
from collections.abc import Mapping
from types import CodeType
from typing import Any

MAX_ENTRIES = 2048  # past this, a save starts over with what this process used (old class layouts)
_FORMAT = 2  # 2: each value is its code object marshalled (1: the code objects themselves)

_entries: dict[str, bytes] = {}  # source text -> marshal.dumps(code)
_used: set[str] = set()
_path: str | None = None
_dirty = False
misses = 0  # source texts this process had to compile: what a test reads to see the cache work


def _magic() -> bytes:
    import _frozen_importlib_external  # always loaded: the import system itself

    magic = _frozen_importlib_external.MAGIC_NUMBER
    assert isinstance(magic, bytes)
    return magic


def default_path() -> str | None:
    """``orchestrator/__pycache__/dataclass-code.<tag>.marshal``, or None for an interpreter without a tag."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # orchestrator/startup/ -> orchestrator/
    return os.path.join(package, "__pycache__", f"dataclass-code.{tag}.marshal")


def _enabled() -> bool:
    return os.environ.get("PYSTACK_NO_CACHE", "") in ("", "0")


def _read(path: str) -> dict[str, bytes]:
    try:
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_uid != os.geteuid() or st.st_mode & 0o022 or not stat.S_ISREG(st.st_mode):
                return {}
            data = f.read()
        loaded = marshal.loads(data)
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not (isinstance(loaded, tuple) and len(loaded) == 3 and loaded[0] == _FORMAT and loaded[1] == _magic()
            and isinstance(loaded[2], dict)):
        return {}
    return {k: v for k, v in loaded[2].items() if isinstance(k, str) and isinstance(v, bytes)}


def _exec(source: Any, globals: dict[str, Any] | None = None, locals: Mapping[str, object] | None = None,
          /, **kwargs: Any) -> None:
    """``exec`` as ``dataclasses`` calls it, with the compiled form of a source text looked up first."""
    global misses, _dirty
    if not isinstance(source, str) or globals is None or kwargs:
        # Not the call dataclasses makes: run exactly what was asked, in the caller's namespaces.
        frame = sys._getframe(1)
        if globals is None:
            globals = frame.f_globals
            if locals is None:
                locals = frame.f_locals
        builtins.exec(source, globals, locals, **kwargs)
        return
    code: object = None
    stored = _entries.get(source)
    if stored is not None:
        with contextlib.suppress(ValueError, EOFError, TypeError):
            code = marshal.loads(stored)
    if not isinstance(code, CodeType):
        # dont_inherit: compiled with no __future__ flags, as exec compiles inside dataclasses
        code = compile(source, "<string>", "exec", dont_inherit=True)
        _entries[source] = marshal.dumps(code)
        misses += 1
        _dirty = True
    _used.add(source)
    builtins.exec(code, globals, locals)


def install(path: str | None = None) -> None:
    """Serve ``dataclasses``' compiles from the cache at *path* (the package's by default) from now on,
    and save what this process compiled when it exits. Nothing when the cache is off or already on."""
    global _path
    if _path is not None or not _enabled():
        return
    path = path or default_path()
    if path is None:
        return
    _path = path
    _entries.update(_read(path))
    setattr(dataclasses, "exec", _exec)  # noqa: B010 - the module global dataclasses resolves first
    atexit.register(save)


def save() -> None:
    """Write the entries this process added (with the file's current ones) atomically; never raises:
    a cache that cannot be written only costs the next command its compiles."""
    global _dirty
    if not _dirty or _path is None or sys.dont_write_bytecode or not _enabled():
        return
    _dirty = False
    merged = _read(_path)
    merged.update(_entries)
    if len(merged) > MAX_ENTRIES:
        merged = {k: v for k, v in _entries.items() if k in _used}
    directory = os.path.dirname(_path)
    tmp = os.path.join(directory, f".{os.path.basename(_path)}.{os.getpid()}.tmp")
    try:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(marshal.dumps((_FORMAT, _magic(), merged)))
            os.replace(tmp, _path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        return
