"""The handles the reconciler needs, opened lazily so light commands stay light.

``pystack ps`` needs only the database; ``up`` needs the image store, the network driver and
the runtime. Each is created on first use. Database connections are per thread, because the
engine runs kernel work in worker threads and a SQLite connection must not be shared.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import TYPE_CHECKING, Any

from orchestrator.network import schema as _network_schema  # noqa: F401  (registers its tables)
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
        self._ensured = False

    def db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if not self._ensured:  # once: every worker thread opens its own connection
                self.paths.ensure()
                self._ensured = True
            conn = connect(self.paths.state_db)
            self._local.conn = conn
        return conn

    @property
    def images(self) -> ImageStore:
        """Per thread: the store keeps a database connection of its own."""
        store: ImageStore | None = getattr(self._local, "images", None)
        if store is None:
            from orchestrator.images.store import ImageStore

            store = ImageStore(self.paths)
            self._local.images = store
        return store

    @property
    def network(self) -> NetworkDriver:
        """Per thread, for the same reason as :attr:`images`."""
        driver: NetworkDriver | None = getattr(self._local, "network", None)
        if driver is None:
            from orchestrator.network.driver import NetworkDriver

            driver = NetworkDriver(self.paths, host_netns=self.host_netns)
            self._local.network = driver
        return driver

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
