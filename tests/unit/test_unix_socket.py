"""Unix sockets at paths longer than a socket address holds."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from orchestrator import unix_socket


def _pair(path: Path) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        unix_socket.bind(srv, path)
        srv.listen(1)
        assert path.exists()  # the socket file is where it was asked for, not elsewhere
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as cli:
            unix_socket.connect(cli, path)
            conn, _ = srv.accept()
            with conn:
                cli.sendall(b"ping")
                return conn.recv(4)


def test_a_path_past_the_address_limit_binds_and_connects(tmp_path: Path) -> None:
    deep = tmp_path / ("a" * 70) / ("b" * 70)
    deep.mkdir(parents=True)
    path = deep / "s.sock"
    assert len(str(path)) > unix_socket.MAX_PATH
    with socket.socket(socket.AF_UNIX) as plain, pytest.raises(OSError):
        plain.bind(str(path))  # what the kernel does with it directly
    assert _pair(path) == b"ping"


def test_a_short_path_is_used_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    assert _pair(path) == b"ping"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        path.unlink()
        unix_socket.bind(srv, path)
        assert srv.getsockname() == str(path)
