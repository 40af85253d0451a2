"""Turn a (maybe compressed) layer stream into a plain tar stream, and hash what passes through.

gzip is decompressed in-process (zlib is C); zstd through the ``zstd`` binary, because Python
3.11 has no zstd module and a pipe costs nothing beside the decompression itself.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import shutil
import subprocess
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Protocol

from orchestrator.errors import ImageError

if TYPE_CHECKING:
    from hashlib import _Hash

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class HashingReader(io.RawIOBase):
    """A readable that feeds every byte it returns into ``hash`` and counts them."""

    def __init__(self, inner: _Readable, hash: _Hash) -> None:
        super().__init__()
        self.inner = inner
        self.hash = hash
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1, /) -> bytes:
        data = self.inner.read(n)
        if data:
            self.hash.update(data)
            self.size += len(data)
        return data

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


class _Prefixed(io.RawIOBase):
    """Give back bytes already read for sniffing, then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self.head = head
        self.rest = rest

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1, /) -> bytes:
        if self.head:
            if n < 0:
                data, self.head = self.head + self.rest.read(), b""
                return data
            data, self.head = self.head[:n], self.head[n:]
            return data
        return self.rest.read(n)

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def sniff(stream: BinaryIO) -> tuple[str, BinaryIO]:
    head = stream.read(4)
    kind = "gzip" if head.startswith(GZIP_MAGIC) else "zstd" if head.startswith(ZSTD_MAGIC) else "none"
    return kind, io.BufferedReader(_Prefixed(head, stream), 1 << 20)


def open_decompressed(stream: BinaryIO, compression: str) -> tuple[_Readable, Callable[[], None]]:
    """Return (plain tar reader, closer); the closer reaps helpers and reports their failures."""
    if compression == "auto":
        compression, stream = sniff(stream)
    if compression == "none":
        return stream, lambda: None
    if compression == "gzip":
        gz = gzip.GzipFile(fileobj=stream, mode="rb")
        return gz, gz.close
    if compression == "zstd":
        return _zstd(stream)
    raise ImageError(f"unknown layer compression {compression!r}")


def _zstd(stream: BinaryIO) -> tuple[_Readable, Callable[[], None]]:
    exe = shutil.which("zstd")
    if exe is None:
        raise ImageError("layer is zstd-compressed but the zstd program is not installed")
    proc = subprocess.Popen([exe, "-dc", "-q"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    stdin = proc.stdin

    def feed() -> None:
        try:
            while chunk := stream.read(1 << 20):
                stdin.write(chunk)
        except (BrokenPipeError, ValueError):
            pass
        finally:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()

    feeder = threading.Thread(target=feed, daemon=True, name="zstd-feed")
    feeder.start()
    out = proc.stdout

    def close() -> None:
        out.close()
        rc = proc.wait()
        feeder.join()
        if rc not in (0, -13):  # -13: we stopped reading early (SIGPIPE) after an error of our own
            raise ImageError(f"cannot unpack layer: zstd failed to decompress it (exit {rc})")

    return out, close
