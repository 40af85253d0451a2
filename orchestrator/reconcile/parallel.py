"""The one parallel executor: run a function per item once its dependencies are done.

Items start as soon as everything they depend on has finished (which is at least as parallel as
running topological generations one after another). A failure marks the item failed; its
dependants are skipped with the cause, while unrelated items go on — Compose's behaviour.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import anyio


@dataclass
class Outcome:
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


async def run_in_order(
    items: Sequence[str],
    deps: Mapping[str, Sequence[str]],
    fn: Callable[[str], Awaitable[None]],
    *,
    limit: int = 64,
) -> Outcome:
    outcome = Outcome()
    finished = {name: anyio.Event() for name in items}
    limiter = anyio.CapacityLimiter(limit)

    async def one(name: str) -> None:
        try:
            for dep in deps.get(name, ()):
                if dep in finished:
                    await finished[dep].wait()
                    if dep in outcome.failed or dep in outcome.skipped:
                        outcome.skipped[name] = f"dependency {dep} failed"
                        return
            async with limiter:
                try:
                    await fn(name)
                except Exception as exc:  # reported per item; the rest goes on
                    outcome.failed[name] = describe(exc)
                    return
            outcome.done.append(name)
        finally:
            finished[name].set()

    async with anyio.create_task_group() as tg:
        for name in items:
            tg.start_soon(one, name)
    return outcome
