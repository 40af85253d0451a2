"""Which keys of a service changed, so a recreate can say why ("environment.DEBUG changed")."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths whose values differ between two plain JSON-like trees, shallowest first."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            path = f"{prefix}.{key}" if prefix else str(key)
            if a is _MISSING:
                out.append(f"{path} added")
            elif b is _MISSING:
                out.append(f"{path} removed")
            else:
                out.extend(changed_paths(a, b, path))
        return out
    if old != new:
        return [f"{prefix or 'config'} changed"]
    return []


def summarize(paths: list[str], limit: int = 3) -> str:
    if not paths:
        return "configuration changed"
    shown = ", ".join(paths[:limit])
    more = len(paths) - limit
    return shown + (f" (+{more} more)" if more > 0 else "")
