"""The whole stack file → the long-form data of :class:`~orchestrator.spec.models.Stack`.

Top-level keys here; each service goes through :mod:`orchestrator.spec.normalize_service`. The
implicit ``default`` network is added the way Compose does: only when some service uses it.
"""

from __future__ import annotations

from typing import Any

from orchestrator.spec.models.networks import normalize_network
from orchestrator.spec.models.support import FILE_OBJECT_WARNED, TOP_LEVEL_KEYS
from orchestrator.spec.models.toplevel import normalize_file_object, normalize_volume
from orchestrator.spec.models.units import Invalid, kind
from orchestrator.spec.normalize_service import Context, normalize_service

_SERVICE_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def normalize_stack(data: Any, ctx: Context) -> dict[str, Any]:
    report = ctx.report
    out: dict[str, Any] = {"name": ctx.project, "working_dir": ctx.base}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        report.error((), f"a stack file must be a mapping, not {kind(data)}")
        return out
    extensions: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(key, str) and key.startswith("x-"):
            extensions[key] = value
        elif key == "version":
            report.warn(("version",), "the attribute is obsolete and ignored")
        elif key in ("name", "include"):
            continue  # the loader used them
        elif key == "models":
            report.warn(("models",), "accepted but not honoured by pystack yet (AI models are not provided)")
        elif key not in TOP_LEVEL_KEYS:
            report.error((key,), _unknown(str(key), TOP_LEVEL_KEYS), at_key=True)
    if extensions:
        out["extensions"] = extensions

    services_raw = data.get("services")
    if services_raw is None:
        services_raw = {}
    if not isinstance(services_raw, dict):
        report.error(("services",), f"must be a mapping of service names, not {kind(services_raw)}")
        services_raw = {}
    services: dict[str, Any] = {}
    for name, raw in services_raw.items():
        if not isinstance(name, str) or not name or not set(name) <= _SERVICE_NAME_CHARS:
            report.error(("services", str(name)), f'invalid service name "{name}": letters, digits, . _ - only',
                         at_key=True)
            continue
        if name.startswith("x-"):
            continue
        service = normalize_service(name, raw, ctx.for_service(name))
        if service is not None:
            services[name] = service
    out["services"] = services

    for section, normalizer in (("networks", normalize_network), ("volumes", normalize_volume)):
        out[section] = _section(data, section, ctx, lambda k, v, f=normalizer: f(k, v, ctx.project))
    for section in ("configs", "secrets"):
        out[section] = _section(
            data, section, ctx,
            lambda k, v, s=section: _file_object(s, k, v, ctx),
        )
    uses_default = any("default" in s.get("networks", {}) for s in services.values())
    if uses_default and "default" not in out["networks"]:
        out["networks"]["default"] = {"name": f"{ctx.project}_default"}
    return out


def _file_object(section: str, key: str, value: Any, ctx: Context) -> dict[str, Any]:
    """A top-level secret or config, with a warning for each key it sets that pystack ignores: a
    ``driver`` that silently did nothing would leave the user believing the value came from it."""
    if isinstance(value, dict):
        for field, why in FILE_OBJECT_WARNED[section].items():
            if value.get(field) not in (None, "", {}, []):
                ctx.report.warn((section, key, field), f"accepted but not honoured by pystack ({why})")
    return normalize_file_object(key, value, ctx.project, ctx.base, ctx.home, section)


def _section(data: dict[str, Any], section: str, ctx: Context, normalize: Any) -> dict[str, Any]:
    raw = data.get(section)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        ctx.report.error((section,), f"must be a mapping, not {kind(raw)}")
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(key, str) and key.startswith("x-"):
            continue
        try:
            entry = normalize(str(key), value)
        except Invalid as exc:
            ctx.report.error((section, key, *exc.subpath), exc.message)
            continue
        ext = {k: entry.pop(k) for k in list(entry) if isinstance(k, str) and k.startswith("x-")}
        if ext:
            entry["extensions"] = ext
        out[str(key)] = entry
    return out


def _unknown(key: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1)
    return f'unknown key{f" (did you mean {close[0]!r}?)" if close else ""}'


def unknown_key_message(key: str, known: Any) -> str:
    return _unknown(key, known)
