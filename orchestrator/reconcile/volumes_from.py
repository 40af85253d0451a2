"""``volumes_from``: mount another container's volumes and binds at the same targets.

The donor's mounts are read from its bundle's config.json, not recomputed from its service:
that is what it really got (an anonymous volume's per-container source, a bind's resolved host
path). Only the mounts its own ``volumes`` asked for, and those it borrowed in turn, are
borrowed; its /etc/hosts, resolv.conf, hostname, init binary and tmpfs mounts are its own, as with
Docker. ``:ro`` and ``:rw`` set the mode of every borrowed mount; without either each keeps the
donor's. What a container borrowed is written beside its bundle (:data:`RECORD`), because its
config.json no longer tells a borrowed mount from one of its own, and Docker lends both on: ``c``
with ``volumes_from: [b]`` gets ``a``'s volumes too when ``b`` has ``volumes_from: [a]``.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from orchestrator.errors import PystackError
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.desired import ServicePlan

RECORD = "volumes-from.json"


def borrowed_mounts(ctx: Context, sp: ServicePlan, taken: set[str]) -> list[dict[str, Any]]:
    """The donors' mounts, in ``volumes_from`` order; a target already mounted (by the service's
    own ``volumes`` or an earlier donor) keeps what it has."""
    from orchestrator.reconcile.anonymous import recorded
    from orchestrator.reconcile.isolation import donor

    out: list[dict[str, Any]] = []
    for entry in sp.volumes_from:
        ref, mode = _parse(entry)
        rec = donor(ctx, sp.project, ref)
        if rec is None:
            raise PystackError(f"service {sp.service!r}: volumes_from: {entry}: no such container")
        wanted = {str(v.get("target")) for v in (rec.spec.get("service") or {}).get("volumes") or []
                  if v.get("type") in ("bind", "volume")}
        wanted |= set(recorded(ctx.paths.container(rec.id)))  # its image's VOLUMEs too, as with Docker
        wanted |= set(lent_on(ctx.paths.container(rec.id)))  # and what it borrowed itself
        try:
            cfg = json.loads((ctx.paths.container(rec.id) / "config.json").read_text())
        except (OSError, ValueError):
            raise PystackError(f"service {sp.service!r}: volumes_from: {entry}: {rec.name} has no configuration") \
                from None
        for m in cfg.get("mounts") or []:
            dest = m.get("destination")
            if m.get("type") != "bind" or dest not in wanted or dest in taken:
                continue
            opts = [o for o in m.get("options") or [] if o not in ("ro", "rw")]
            was_ro = "ro" in (m.get("options") or [])
            opts.append(mode or ("ro" if was_ro else "rw"))
            out.append({**m, "options": opts})
            taken.add(dest)
    return out


def remember(cdir: Path, mounts: list[dict[str, Any]]) -> None:
    """Write the targets a container borrowed, so that it lends them on to whoever borrows from it
    (nothing when it borrowed nothing: :func:`lent_on` reads a missing record as none)."""
    if not mounts:
        return
    tmp = cdir / f"{RECORD}.tmp"
    tmp.write_text(json.dumps([m["destination"] for m in mounts]))
    os.replace(tmp, cdir / RECORD)


def lent_on(cdir: Path) -> list[str]:
    """What :func:`remember` wrote; none for a container that borrowed nothing (or was made before
    borrowed mounts were recorded)."""
    with contextlib.suppress(OSError, ValueError):
        data: Any = json.loads((cdir / RECORD).read_text())
        if isinstance(data, list):
            return [str(t) for t in data]
    return []


def _parse(entry: str) -> tuple[str, str | None]:
    """``web``, ``web:ro``, ``container:c1:rw`` → (``service:web`` or ``container:c1``, mode)."""
    parts = entry.split(":")
    kind = "container" if parts[0] == "container" and len(parts) > 1 else "service"
    if kind == "container":
        parts = parts[1:]
    mode = parts[1] if len(parts) > 1 else None
    return f"{kind}:{parts[0]}", mode
