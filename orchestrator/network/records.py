"""Name records in the state database, and the scoping rule that decides who sees which name.

Any process (CLI, supervisor, reconciler) adds or removes records with a plain transaction; the
DNS server reads the table on each query (behind a cache invalidated by SQLite's
``data_version``), so a recreated container's new address resolves the moment it is committed.
A name is visible to a container only through a network both share, as in Compose.
"""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import dataclass

from orchestrator.network import schema as _schema
from orchestrator.state.db import transaction

_ = _schema
LINK_PREFIX = "="  # an address column starting with this names another record (a link alias)


def register_dns(
    conn: sqlite3.Connection,
    project: str,
    network: str,
    names: list[str],
    address: str,
    container_id: str,
    *,
    only_for: str | None = None,
) -> None:
    """Publish ``names`` → ``address`` on ``network``; ``only_for`` scopes a ``links`` alias to one asker."""
    clean = list(dict.fromkeys(n.strip().rstrip(".").lower() for n in names if n and n.strip()))
    with transaction(conn) as c:
        for n in clean:
            c.execute(
                "DELETE FROM net_dns_records WHERE network=? AND name=? AND container_id=?"
                " AND coalesce(only_for,'')=coalesce(?, '')",
                (network, n, container_id, only_for),
            )
            c.execute(
                "INSERT INTO net_dns_records (project, network, name, address, container_id, only_for)"
                " VALUES (?,?,?,?,?,?)",
                (project, network, n, address, container_id, only_for),
            )


def register_link(
    conn: sqlite3.Connection, project: str, network: str, alias: str, target: str, linking_container: str
) -> None:
    """``links: [target:alias]``: ``alias`` resolves, for ``linking_container`` only, to whatever
    ``target`` (a service or container name) resolves to at query time, so it follows recreations."""
    register_dns(
        conn,
        project,
        network,
        [alias],
        LINK_PREFIX + target.strip().lower(),
        linking_container,
        only_for=linking_container,
    )


def unregister_dns(conn: sqlite3.Connection, container_id: str) -> None:
    """Every record of the container, and every link alias it was given."""
    with transaction(conn) as c:
        c.execute("DELETE FROM net_dns_records WHERE container_id=? OR only_for=?", (container_id, container_id))


@dataclass(frozen=True)
class Listen:
    """One network the DNS server answers on: its gateway address and whether it may forward."""

    network: str
    gateway: str
    internal: bool


class RecordView:
    """Read-side of the records for one project's DNS server; cheap to call per query."""

    def __init__(self, conn: sqlite3.Connection, project: str) -> None:
        self.conn = conn
        self.project = project
        self._version = -1
        self._cache: dict[tuple[str, str, str], tuple[list[str], list[str]]] = {}
        self._rr = itertools.count()

    def version(self) -> int:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def _fresh(self) -> None:
        v = self.version()
        if v != self._version:
            self._version = v
            self._cache.clear()

    def listens(self) -> list[Listen]:
        rows = self.conn.execute(
            "SELECT name, gateway, internal FROM net_networks WHERE project=? AND status='ready' ORDER BY name",
            (self.project,),
        ).fetchall()
        return [Listen(r["name"], r["gateway"], bool(r["internal"])) for r in rows]

    def _asker(self, network: str, src: str) -> tuple[str, list[str]]:
        row = self.conn.execute(
            "SELECT container_id FROM net_endpoints WHERE network=? AND address=?", (network, src)
        ).fetchone()
        if row is None:
            return "", [network]
        cid = row["container_id"]
        nets = [
            r["network"] for r in self.conn.execute("SELECT network FROM net_endpoints WHERE container_id=?", (cid,))
        ]
        return cid, nets

    def _lookup(self, name: str, network: str, src: str) -> tuple[list[str], list[str]]:
        self._fresh()
        key = (name, network, src)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        cid, nets = self._asker(network, src)
        marks = ",".join("?" * len(nets))
        rows = self.conn.execute(
            f"SELECT address FROM net_dns_records WHERE name=? AND network IN ({marks})"
            " AND (only_for IS NULL OR only_for=?) ORDER BY container_id, network",
            (name, *nets, cid),
        ).fetchall()
        addrs: list[str] = []
        for r in rows:
            a = r["address"]
            if a.startswith(LINK_PREFIX):
                target = a[len(LINK_PREFIX) :]
                if target and target != name:
                    addrs += self._lookup(target, network, src)[0]
            else:
                addrs.append(a)
        addrs = list(dict.fromkeys(addrs))
        result = (addrs, nets)
        self._cache[key] = result
        return result

    def resolve(self, name: str, network: str, src: str) -> list[str] | None:
        """Addresses of ``name`` as seen by the container at ``src`` on ``network``, rotated; None if unknown."""
        addrs, _ = self._lookup(name.rstrip(".").lower(), network, src)
        if not addrs:
            return None
        k = next(self._rr) % len(addrs)
        return addrs[k:] + addrs[:k]

    def reverse(self, address: str, network: str, src: str) -> list[str]:
        _, nets = self._lookup("", network, src)
        marks = ",".join("?" * len(nets))
        rows = self.conn.execute(
            f"SELECT name FROM net_dns_records WHERE address=? AND network IN ({marks}) AND only_for IS NULL"
            " ORDER BY rowid",
            (address, *nets),
        ).fetchall()
        return list(dict.fromkeys(r["name"] for r in rows))
