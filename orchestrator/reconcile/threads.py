"""Blocking work on many containers at once, in plain threads, for commands without an event loop.

Starting an event loop costs a one-shot command ~50 ms (asyncio's import and set-up): more than
stopping and removing a small stack takes. ``down``, ``stop`` and their kin only wait on the kernel
and the runtime, which threads do as well; what they report is reported from the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

T = TypeVar("T")
R = TypeVar("R")

LIMIT = 64  # as many at once as the reconciler runs
_cap: list[int] = []  # the user's --parallel, when given: at most this many of anything at once


def set_parallel(n: int) -> None:
    """``--parallel N`` (or COMPOSE_PARALLEL_LIMIT), as Compose's: N > 0 caps every parallel step
    of this command at N (1: one service, one container at a time); -1 or 0 lifts the cap."""
    _cap[:] = [n] if n > 0 else []


def workers(wanted: int = LIMIT) -> int:
    """How many workers a parallel step may use: ``wanted``, within the user's cap."""
    return min(wanted, _cap[0]) if _cap else wanted


class Done(Generic[T, R]):
    """One item's outcome: its result, or the exception it raised."""

    __slots__ = ("error", "item", "result")

    def __init__(self, item: T, result: R | None, error: Exception | None) -> None:
        self.item, self.result, self.error = item, result, error


def each(fn: Callable[[T], R], items: Sequence[T], *, limit: int = LIMIT) -> Iterator[Done[T, R]]:
    """``fn`` on every item in parallel threads; yields each outcome as it finishes.

    An ``Exception`` becomes the item's outcome and the others go on; anything else (an interrupt)
    propagates once the items under way have finished.
    """
    if not items:
        return
    from concurrent.futures import ThreadPoolExecutor, as_completed  # brings logging: only when used

    with ThreadPoolExecutor(max_workers=min(workers(limit), len(items)), thread_name_prefix="pystack") as pool:
        futures: dict[Future[R], T] = {pool.submit(fn, item): item for item in items}
        for fut in as_completed(futures):
            exc = fut.exception()
            if exc is not None and not isinstance(exc, Exception):
                raise exc
            yield Done(futures[fut], None if exc is not None else fut.result(), exc)


class Gate:
    """Where created containers wait to start until something else is ready (``up``: the stack's
    network service answering DNS and holding its ports); when that fails, they fail with it."""

    def __init__(self) -> None:
        import threading

        self._open = threading.Event()
        self.error: BaseException | None = None

    def open(self) -> None:
        self._open.set()

    def fail(self, exc: BaseException) -> None:
        self.error = exc
        self._open.set()

    def wait(self) -> None:
        self._open.wait()
        if self.error is not None:
            from orchestrator.errors import PystackError

            raise PystackError(f"not started: {self.error}")
