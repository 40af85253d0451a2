"""The handles the reconciler needs, opened lazily so light commands stay light.

``pystack ps`` needs only the database; ``up`` needs the image store, the network driver and
the runtime. Each is created on first use. Database connections are per thread, because the
engine runs kernel work in worker threads and a SQLite connection must not be shared.
"""

from __future__ import annotations

import sqlite3
import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from orchestrator.paths import Paths
from orchestrator.state import containers as _containers_schema  # noqa: F401  (registers tables)
from orchestrator.state.db import connect

if TYPE_CHECKING:
    from orchestrator.images.store import ImageStore
    from orchestrator.network.driver import NetworkDriver
    from orchestrator.runtime.api import Runtime


class Context:
    def __init__(self, paths: Paths, *, host_netns: str | None = None) -> None:
        self.paths = paths
        self.host_netns = host_netns
        self._local = threading.local()
        self._runtimes: dict[str, Runtime] = {}
        self._lock = threading.Lock()

    def db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.paths.ensure()
            conn = connect(self.paths.state_db)
            self._local.conn = conn
        return conn

    @cached_property
    def images(self) -> ImageStore:
        from orchestrator.images.store import ImageStore

        return ImageStore(self.paths)

    @cached_property
    def network(self) -> NetworkDriver:
        from orchestrator.network.driver import NetworkDriver

        return NetworkDriver(self.paths, host_netns=self.host_netns)

    def runtime(self, name: str | None = None) -> Runtime:
        key = name or "pystack"
        with self._lock:
            rt = self._runtimes.get(key)
            if rt is None:
                from orchestrator.runtime.api import get_runtime

                rt = get_runtime(name, self.paths)
                self._runtimes[key] = rt
            return rt

    def close(self) -> None:
        conn: Any = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
