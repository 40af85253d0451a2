"""sha256 for small inputs (names, keys, configuration hashes) without loading OpenSSL.

``import hashlib`` maps OpenSSL's libcrypto into the process: about 2 ms of every command's
start-up and about 2 MiB of every long-running process's memory, where all that is hashed is a few
hundred bytes of names and keys. The interpreter ships its own sha256 as a small extension module
(``_sha256`` up to 3.11, ``_sha2`` from 3.12); its digests are the same, and it is slower than
OpenSSL only per megabyte. Bulk data (image layers, blobs, diffs) keeps using :mod:`hashlib`.
"""

from __future__ import annotations

import importlib
from typing import Protocol, cast


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


def _constructor() -> object:
    for name in ("_sha2", "_sha256"):
        try:
            constructor: object = importlib.import_module(name).sha256
            return constructor
        except ImportError:
            continue
    import hashlib  # an interpreter built without its own sha256: OpenSSL's is as good

    return hashlib.sha256


_new = _constructor()


def new(data: bytes = b"") -> Hasher:
    """A sha256 hasher, fed *data* first."""
    return cast(Hasher, _new(data))  # type: ignore[operator]


def hexdigest(data: bytes) -> str:
    """The hex sha256 of *data*."""
    return new(data).hexdigest()
