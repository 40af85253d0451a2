"""The monitor zygote, a real process: a request it cannot read gets no answer and leaves it serving."""

from __future__ import annotations

import marshal
import os
import socket
import time
from pathlib import Path

from orchestrator.runtime import zygote


def _send(sock_path: Path, payload: bytes) -> bytes:
    """One request with the seven descriptors a real one carries; what the zygote answers."""
    fds = [os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC) for _ in range(7)]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC) as s:
            s.settimeout(10)
            s.connect(str(sock_path))
            socket.send_fds(s, [payload], fds)
            return s.recv(1)
    finally:
        for fd in fds:
            os.close(fd)


def test_a_request_the_zygote_cannot_read_is_refused_and_it_serves_on(tmp_path: Path) -> None:
    sock = tmp_path / "zygote-test.sock"
    zygote._await(*zygote._spawn(sock))
    try:
        assert sock.exists()
        assert _send(sock, b"short") == b""  # shorter than the header
        assert _send(sock, zygote._HEAD.pack(3, 0, 0) + b"{x}") == b""  # fields that do not decode
        assert _send(sock, zygote._HEAD.pack(2, 0, 0) + b"{}") == b""  # not marshal data either
        empty = marshal.dumps({})
        assert _send(sock, zygote._HEAD.pack(len(empty), 0, 0) + empty) == b""  # without the fields
        number = marshal.dumps(7)
        assert _send(sock, zygote._HEAD.pack(len(number), 0, 0) + number) == b""  # not a mapping
        # still there: the same socket accepts again
        assert _send(sock, b"") == b""
    finally:
        deadline = time.monotonic() + 10  # with no monitor it leaves by itself within IDLE_EXIT
        while sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not sock.exists()


def test_a_rehearsal_of_the_relay_leaves_no_process_and_no_descriptor() -> None:
    """The zygote runs the monitor's log relay on a short-lived child before serving alone (so that
    each monitor finds that code already specialized); each run must reap its child and close all."""
    def children() -> set[str]:
        return {c for t in Path("/proc/self/task").iterdir() for c in (t / "children").read_text().split()}

    fds_before, children_before = set(os.listdir("/proc/self/fd")), children()
    zygote._rehearse()
    zygote._rehearse()
    assert children() <= children_before
    assert set(os.listdir("/proc/self/fd")) == fds_before
