"""One thread that waits on every socket a stack's network service listens on.

The service answers DNS and forwards published ports without an event loop: importing asyncio
and anyio was about half of its start-up, and ``up`` waits for that start-up before it returns.
Its listening sockets are few (two per network, one per published port) and wait here together
in one selector; whatever may block (an upstream DNS query, a forwarded TCP connection) gets a
short-lived thread of its own. Handlers run in this thread and must not block.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
T = TypeVar("T")

TICK = 1.0  # seconds between two calls of the tick handlers (UDP session expiry)


class Reactor:
    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._calls: list[Callable[[], None]] = []
        self._ticks: list[Callable[[float], None]] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="reactor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop waiting (handlers already running finish first); sockets stay open until closed."""
        self._stopping = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ---- from any thread -------------------------------------------------------------------------

    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the reactor's thread, before its next wait."""
        with self._lock:
            self._calls.append(fn)
        self._wake()

    def add(self, sock: socket.socket, handler: Callable[[], None]) -> None:
        """Call ``handler`` in the reactor's thread whenever ``sock`` is readable."""
        self.call(lambda: self.watch(sock, handler))

    def remove(self, sock: socket.socket) -> None:
        """Stop watching ``sock`` and close it, in the reactor's thread so that no handler sees it closed."""
        self.call(lambda: self.forget(sock))

    def every_tick(self, fn: Callable[[float], None]) -> None:
        """Call ``fn(now)`` about once a second, in the reactor's thread."""
        self.call(lambda: self._ticks.append(fn))

    # ---- in the reactor's thread -----------------------------------------------------------------

    def watch(self, sock: socket.socket, handler: Callable[[], None]) -> None:
        sock.setblocking(False)
        self._sel.register(sock, selectors.EVENT_READ, handler)

    def forget(self, sock: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(sock)
        sock.close()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    def _run_calls(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for fn in calls:
            _guarded(fn)

    def _run(self) -> None:
        next_tick = time.monotonic() + TICK
        while not self._stopping:
            self._run_calls()
            timeout = max(0.0, next_tick - time.monotonic()) if self._ticks else None
            for key, _ in self._sel.select(timeout):
                if key.data is None:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                    continue
                if not self._stopping:
                    _guarded(key.data)
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + TICK
                for tick in list(self._ticks):
                    _guarded(lambda tick=tick, now=now: tick(now))  # type: ignore[misc]


def _guarded(fn: Callable[[], None]) -> None:
    """One handler's failure is logged; the others and the loop go on."""
    try:
        fn()
    except Exception as exc:  # a bug in one handler must not stop DNS for the whole stack
        print(f"network service: {type(exc).__name__}: {exc}", file=sys.stderr)


def spawn(target: Callable[[], None], name: str) -> None:
    """A daemon thread for work that may block: the process may exit without waiting for it."""
    threading.Thread(target=lambda: _guarded(target), name=name, daemon=True).start()


def family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def opened(address: str, kind: socket.SocketKind, setup: Callable[[socket.socket], None]) -> socket.socket:
    """A socket of ``address``'s family once ``setup`` (bind, connect, listen) has run; closed if it fails."""
    sock = socket.socket(family(address), kind)
    try:
        setup(sock)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_reported(failed: dict[K, str], key: K, what: str, bind: Callable[[], T]) -> T | None:
    """``bind()``, or None once its error is logged as ``what: error``: once per distinct error,
    since the service tries again every half second until the address is there or the port free."""
    try:
        out = bind()
    except OSError as exc:
        if failed.get(key) != str(exc):
            print(f"{what}: {exc}", file=sys.stderr)
        failed[key] = str(exc)
        return None
    failed.pop(key, None)
    return out
