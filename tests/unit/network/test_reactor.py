"""The network service's selector thread: handlers run in it, one failing handler stops nothing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from orchestrator.network.reactor import Reactor


@pytest.fixture
def reactor() -> Iterator[Reactor]:
    r = Reactor()
    r.start()
    try:
        yield r
    finally:
        r.stop()


def test_a_readable_socket_calls_its_handler_in_the_reactor_thread(reactor: Reactor) -> None:
    a, b = socket.socketpair()
    seen: list[tuple[bytes, str]] = []
    done = threading.Event()

    def on_ready() -> None:
        seen.append((a.recv(16), threading.current_thread().name))
        done.set()

    reactor.add(a, on_ready)
    b.send(b"ping")
    assert done.wait(5)
    assert seen == [(b"ping", "reactor")]
    reactor.remove(a)
    b.close()


def test_a_failing_handler_is_logged_and_the_others_still_run(reactor: Reactor,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad_r, bad_w = socket.socketpair()
    good_r, good_w = socket.socketpair()
    done = threading.Event()

    def bad() -> None:
        bad_r.recv(16)
        raise RuntimeError("boom")

    def good() -> None:
        good_r.recv(16)
        done.set()

    reactor.add(bad_r, bad)
    reactor.add(good_r, good)
    bad_w.send(b"x")
    good_w.send(b"y")
    assert done.wait(5)
    reactor.call(lambda: None)
    reactor.stop()
    assert "RuntimeError: boom" in capsys.readouterr().err
    for s in (bad_r, bad_w, good_r, good_w):
        s.close()


def test_removed_sockets_are_closed_and_no_longer_watched(reactor: Reactor) -> None:
    a, b = socket.socketpair()
    calls: list[int] = []
    reactor.add(a, lambda: calls.append(1))
    closed = threading.Event()
    reactor.remove(a)
    reactor.call(closed.set)
    assert closed.wait(5)
    assert a.fileno() == -1
    with pytest.raises(BrokenPipeError):
        b.send(b"late")  # the watched end is closed
    assert calls == []
    b.close()


def test_ticks_come_about_once_a_second(reactor: Reactor) -> None:
    ticks = threading.Event()
    reactor.every_tick(lambda now: ticks.set())
    assert ticks.wait(3)
