"""Where a runtime sends the master of the pty it makes for ``process.terminal`` (``--console-socket``).

Used by a foreground ``run`` on a terminal (pystack's own runtime sends the master here, as runc
does) and by the monitor of a tty container run by runc or crun. The socket lives in a fresh 0700
directory under the temporary directory: a short path (runc dials the path it is given, and a
socket address holds 108 bytes where a state root may be deeper) that no other user can reach to
hand us a terminal of their own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from pathlib import Path

from orchestrator.errors import RuntimeFailure


class ConsoleSocket:
    def __init__(self, *, timeout: float = 30.0) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="pystack-console-")) / "console.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            self.sock.bind(str(self.path))
            os.chmod(self.path, 0o600)
        except OSError:
            self.close()
            raise
        self.sock.listen(1)
        self.sock.settimeout(timeout)

    def receive(self) -> int:
        """The master: the runtime connected and sent it while it created the container (queued
        in the socket until now)."""
        try:
            conn, _ = self.sock.accept()
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 16, 1)
        except OSError as exc:
            raise RuntimeFailure(f"no terminal from the runtime: {exc}") from None
        if not fds:
            raise RuntimeFailure("no terminal from the runtime")
        return fds[0]

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            self.path.parent.rmdir()
