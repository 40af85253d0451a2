"""The one parallel executor: run a function per item once its dependencies are done.

Items start as soon as everything they depend on has finished (which is at least as parallel as
running topological generations one after another). A failure marks the item failed; its
dependants are skipped with the cause, while unrelated items go on — Compose's behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestrator.reconcile.threads import workers

if TYPE_CHECKING:
    from concurrent.futures import Future


@dataclass
class Outcome:
    """What a parallel step did to each service, so that one failure is reported without losing the rest."""
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def describe(exc: BaseException) -> str:
    """The first real cause, not "unhandled errors in a TaskGroup"."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return str(exc) or type(exc).__name__


def run_in_order(
    items: Sequence[str],
    deps: Mapping[str, Sequence[str]],
    fn: Callable[[str], None],
    *,
    limit: int = 64,
) -> Outcome:
    """``fn`` per item in threads, each once its dependencies among ``items`` have finished.

    Threads rather than an event loop: every item's work is blocking kernel and runtime calls
    anyway, and starting a loop costs a one-shot command ~50 ms.
    """
    # here, not at the top: concurrent.futures brings logging along (~10 ms), which an up with
    # nothing to do, importing this module, never needs
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    outcome = Outcome()
    wanted = set(items)
    waiting = {name: {d for d in deps.get(name, ()) if d in wanted} for name in items}
    settled: set[str] = set()
    with ThreadPoolExecutor(max_workers=max(1, min(workers(limit), len(items))), thread_name_prefix="pystack") as pool:
        running: dict[Future[None], str] = {}
        started: set[str] = set()

        def launch_ready() -> None:
            for name in items:
                if name in started or name in settled or waiting[name]:
                    continue
                started.add(name)
                running[pool.submit(fn, name)] = name

        def settle(name: str) -> None:
            settled.add(name)
            for other in items:
                if name in waiting[other]:
                    waiting[other].discard(name)
                    if name not in outcome.done and other not in settled:
                        outcome.skipped[other] = f"dependency {name} failed"
                        settle(other)

        launch_ready()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                name = running.pop(fut)
                exc = fut.exception()
                if exc is not None and not isinstance(exc, Exception):
                    raise exc
                if exc is not None:  # reported per item; the rest goes on
                    outcome.failed[name] = describe(exc)
                else:
                    outcome.done.append(name)
                settle(name)
            launch_ready()
    return outcome
