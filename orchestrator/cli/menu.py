"""``up --menu``: Compose's keyboard shortcuts while ``up`` follows the logs on a terminal.

``d`` detaches (the containers go on running and the command exits 0), ``w`` turns the
``develop.watch`` rules on and off. Compose's ``v`` and ``o`` open Docker Desktop, which has no
counterpart here. The terminal is put in cbreak mode (each key arrives at once and is not echoed;
Ctrl-C still interrupts) and restored on the way out, whatever ends the command.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import tty
from types import TracebackType
from typing import Any

BAR = "d Detach   w Toggle Watch"


def wanted(flag: bool | None, environ: dict[str, str] | os._Environ[str]) -> bool:
    """``--menu``/``--no-menu``, else ``COMPOSE_MENU`` (true/1/yes), else off."""
    if flag is not None:
        return flag
    return environ.get("COMPOSE_MENU", "").strip().lower() in ("1", "true", "yes", "on")


class Menu:
    """The keys typed on ``fd`` (a terminal), one at a time, without waiting for any."""

    def __init__(self, fd: int = 0) -> None:
        self.fd = fd
        self._saved: list[Any] | None = None

    def __enter__(self) -> Menu:
        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd, termios.TCSANOW)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)

    def key(self) -> str | None:
        """The next key typed, or None when none is waiting."""
        if not select.select([self.fd], [], [], 0)[0]:
            return None
        data = os.read(self.fd, 1)
        return data.decode("latin-1") if data else None
