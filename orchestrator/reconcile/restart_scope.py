"""Which containers a ``restart`` of some services restarts, and in what order.

Compose restarts, with the services named, those that declare ``depends_on: {X: {restart: true}}``
on one of them (and so on down the chain), unless ``--no-deps``: such a dependent holds something
of X (a connection pool, a socket, X's network namespace) that X's restart leaves stale. Each
container restarts after those it depends on that way, and after the donors of the ``ipc``/``pid:
service:x`` namespaces it joins (:func:`orchestrator.reconcile.isolation.donors_first`), both
taken from the service as recorded with the container. Pure: records in, records out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from orchestrator.state.containers import ContainerRecord


def restart_dependencies(rec: ContainerRecord) -> set[str]:
    """The services ``rec``'s service depends on with ``restart: true``."""
    depends = (rec.spec.get("service") or {}).get("depends_on") or {}
    return {name for name, d in depends.items() if isinstance(d, dict) and d.get("restart")}


def with_dependents(recs: Sequence[ContainerRecord], services: Collection[str]) -> list[ContainerRecord]:
    """The containers of ``services`` and of every service that depends on one of them, directly or
    through others, with ``restart: true``."""
    chosen = set(services)
    grew = True
    while grew:
        more = {r.service for r in recs if r.service not in chosen and restart_dependencies(r) & chosen}
        chosen |= more
        grew = bool(more)
    return [r for r in recs if r.service in chosen]


def dependencies_first(recs: Sequence[ContainerRecord]) -> list[list[ContainerRecord]]:
    """``recs`` in tiers, one after the other: a container after the namespace donors it joins and
    after what it depends on with ``restart: true``, when those are restarted too."""
    from orchestrator.reconcile.isolation import in_tiers, joined_services

    return in_tiers(recs, lambda r: joined_services(r) | restart_dependencies(r))
