"""The top-level networks, volumes, secrets and configs a service uses, in the file's form.

They are kept with each container (beside its service's JSON) so that ``alpha generate`` can write
a stack file back from running containers alone, definitions included; the ``content`` of a secret
or config is not (its value may come from a secret), so that one has to be given again. This runs for every
container ``up`` plans, on a loaded stack's models and on the load cache's records alike
(:mod:`orchestrator.spec.records`), so it reads fields only and never imports the models.
"""

from __future__ import annotations

from typing import Any

# A field whose default is not "empty": written only when it differs.
_TRUE_BY_DEFAULT = frozenset({"enable_ipv4"})


def used_by(svc: Any, stack: Any) -> dict[str, dict[str, Any]]:
    """``{section: {key: definition}}`` for what ``svc`` refers to. A ``name`` is kept only when
    the file gave one: the derived ``<project>_<key>`` would tie a stack generated from these
    containers to the objects of the project they came from."""
    used = {
        "networks": set(svc.networks),
        "volumes": {v.source for v in svc.volumes if v.type == "volume" and v.source},
        "secrets": {ref.source for ref in svc.secrets},
        "configs": {ref.source for ref in svc.configs},
    }
    out: dict[str, dict[str, Any]] = {}
    for section, keys in used.items():
        items = getattr(stack, section)
        for key in sorted(keys):
            obj = items.get(key)
            if obj is None:
                continue
            entry = _plain(obj)
            entry.pop("name", None)
            if section in ("secrets", "configs"):
                entry.pop("content", None)  # a value (maybe interpolated from a secret) is never stored
            extensions = entry.pop("extensions", {})
            if obj.name != f"{stack.name}_{key}":
                entry["name"] = obj.name
            entry.update(extensions)
            out.setdefault(section, {})[key] = entry
    return out


def _plain(value: Any) -> Any:
    """A model or record as JSON data, its empty and default fields left out."""
    if hasattr(value, "__dict__") and not isinstance(value, type):
        out: dict[str, Any] = {}
        for key, field in vars(value).items():
            if key.startswith("_"):
                continue
            if key in _TRUE_BY_DEFAULT:
                if field is False:
                    out[key] = False
                continue
            plain = _plain(field)
            if plain not in (None, False, {}, [], ""):
                out[key] = plain
        return out
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
