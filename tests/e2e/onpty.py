"""A ``pystack`` command on a terminal of the test's own (a pty), as a user at a terminal runs it.

Every wait has a deadline and the command is killed if it outlives the test: a pty test that
waits for ever (a shell that never got its keys) would otherwise hang the suite.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import sys
import time
from types import TracebackType

from tests.e2e.conftest import Host


class OnPty:
    """``with OnPty(host, "-f", f, "run", "one", "sh") as t:`` then ``read_until``, ``type``,
    ``hang_up`` (the terminal goes away) and ``finish`` (its exit code)."""

    def __init__(self, host: Host, *args: str) -> None:
        cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", *args]
        self.out = b""
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child execs at once
            try:
                os.chdir(host.workdir)
                os.execvpe(cmd[0], cmd, host.env())
            except BaseException as exc:  # never go on running the tests in this copy of pytest
                os.write(2, f"cannot run {cmd[0]}: {exc!r}\n".encode())
            finally:
                os._exit(127)
        self.status: int | None = None

    def read_until(self, needle: bytes, seconds: float) -> bool:
        """Whether ``needle`` has been printed within ``seconds``; what was read is in ``out``."""
        end = time.monotonic() + seconds
        while needle not in self.out and time.monotonic() < end and self.fd >= 0:
            if select.select([self.fd], [], [], 0.1)[0]:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the command is gone and the pty with it
                    break
                if not chunk:
                    break
                self.out += chunk
        return needle in self.out

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def hang_up(self) -> None:
        """Close the terminal, as a closed window or a dropped ssh connection does."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def finish(self, seconds: float) -> int:
        """The command's exit code, reading its output meanwhile; killed after ``seconds``."""
        end = time.monotonic() + seconds
        while self.status is None and time.monotonic() < end:
            if self.fd >= 0:
                self.read_until(b"\0", 0.1)
            else:
                time.sleep(0.05)
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.status = status
        if self.status is None:
            os.kill(self.pid, 9)
            self.status = os.waitpid(self.pid, 0)[1]
        self.read_until(b"\0", 2)  # what it printed just before it left: read until the pty closes
        return os.waitstatus_to_exitcode(self.status)

    def __enter__(self) -> OnPty:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.status is None:
            with contextlib.suppress(ChildProcessError, ProcessLookupError):
                os.kill(self.pid, 9)
                self.status = os.waitpid(self.pid, 0)[1]
        self.hang_up()
