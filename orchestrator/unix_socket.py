"""Bind and connect unix sockets at paths of any length.

A ``sockaddr_un`` holds 107 bytes of path. A state root a few directories deep (a user's
``--root``, a CI job's numbered temp directory) pushes ``<root>/run/stacks/<project>/supervisor.sock``
past that, and ``bind`` fails with "AF_UNIX path too long": the stack then has no supervisor and
nothing restarts. A longer path is reached through the directory instead: it is opened with
``O_PATH`` and the socket is named ``/proc/self/fd/<fd>/<name>``, which the kernel resolves to the
same file. A short path is used as it is, so what ``ls`` shows and other tools connect to does not change.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

MAX_PATH = 107  # sun_path is 108 bytes, the last one a NUL


@contextlib.contextmanager
def _address(where: str | os.PathLike[str]) -> Iterator[str]:
    """``where`` itself when it fits, else a short name of it through its open directory."""
    path = Path(where)
    text = str(path)
    if len(os.fsencode(text)) <= MAX_PATH:
        yield text
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def bind(sock: socket.socket, path: str | os.PathLike[str]) -> None:
    with _address(path) as address:
        sock.bind(address)


def connect(sock: socket.socket, path: str | os.PathLike[str]) -> None:
    with _address(path) as address:
        sock.connect(address)
