"""The one place that names files on disk.

Every module asks :class:`Paths` where its files live, so the layout of the state root can be
read (and changed) here alone. The root defaults to ``/var/lib/pystack`` and follows ``--root``
or ``PYSTACK_ROOT``; tests point it at a temporary directory. Runtime files (sockets, pid files,
monitors) live under ``<run>``, by default ``/run/pystack``, or ``<root>/run`` for a non-default
root so that two roots never share runtime files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOT = Path("/var/lib/pystack")
DEFAULT_RUN = Path("/run/pystack")


def default_root() -> Path:
    return Path(os.environ.get("PYSTACK_ROOT") or DEFAULT_ROOT)


@dataclass(frozen=True)
class Paths:
    """Every path under the state root in one place, so that no module invents its own layout."""
    root: Path

    @classmethod
    def from_env(cls, root: str | os.PathLike[str] | None = None) -> Paths:
        return cls(Path(root) if root else default_root())

    @property
    def run(self) -> Path:
        if self.root == DEFAULT_ROOT:
            return DEFAULT_RUN
        return self.root / "run"

    @property
    def state_db(self) -> Path:
        return self.root / "state.db"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs" / "sha256"

    def blob(self, digest: str) -> Path:
        algo, _, hexpart = digest.partition(":")
        if algo != "sha256" or len(hexpart) != 64 or not all(c in "0123456789abcdef" for c in hexpart):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.blobs / hexpart

    @property
    def layers(self) -> Path:
        return self.root / "layers"

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    def container(self, container_id: str) -> Path:
        return self.containers / container_id

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def build_cache(self) -> Path:
        return self.root / "build"

    @property
    def cache(self) -> Path:
        """Derived data that can be dropped at any time (see ``stack_cache``)."""
        return self.root / "cache"

    @property
    def stack_cache(self) -> Path:
        """Loaded stacks, keyed by their inputs (``orchestrator/spec/cache.py``)."""
        return self.cache / "stacks"

    @property
    def runtime_state(self) -> Path:
        """Per-container state of pystack's own OCI runtime (like ``/run/crun``)."""
        return self.run / "runtime"

    @property
    def netns(self) -> Path:
        """Named network namespaces live where ``ip netns`` expects them, so operators can inspect them."""
        return Path("/run/netns")

    def stack_run(self, project: str) -> Path:
        return self.run / "stacks" / project

    def supervisor_socket(self, project: str) -> Path:
        return self.stack_run(project) / "supervisor.sock"

    def ensure(self) -> None:
        for p in (self.root, self.run, self.blobs, self.layers, self.containers, self.volumes):
            p.mkdir(parents=True, exist_ok=True, mode=0o700)
