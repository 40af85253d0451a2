"""Load stack data the way the CLI does, from a dict (pure) or from a file (through the loader)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.errors import PystackError, SpecErrors
from orchestrator.spec.models import Service, Stack
from orchestrator.spec.project import LoadOptions
from orchestrator.spec.stack import build_stack, load_stack

BASE = Path("/srv/proj")


def stack(data: dict[str, Any], **kw: Any) -> Stack:
    kw.setdefault("project", "proj")
    kw.setdefault("working_dir", BASE)
    return build_stack(data, **kw)


def service(spec: dict[str, Any], name: str = "svc", **kw: Any) -> Service:
    spec = {"image": "busybox", **spec}
    services: dict[str, Any] = {name: spec}
    for dep in spec.get("depends_on") or ():
        services.setdefault(dep, {"image": "busybox"})
    kw.setdefault("profiles", ["*"])
    return stack({"services": services}, **kw).services[name]


def errors(data: dict[str, Any], **kw: Any) -> list[str]:
    with pytest.raises(SpecErrors) as info:
        stack(data, **kw)
    return str(info.value).splitlines()


def service_errors(spec: dict[str, Any], name: str = "svc") -> list[str]:
    return errors({"services": {name: {"image": "busybox", **spec}}})


def write(dir_: Path, text: str, name: str = "compose.yaml") -> Path:
    path = dir_ / name
    path.write_text(text)
    return path


def load_file(path: Path, **kw: Any) -> Stack:
    kw.setdefault("environ", {})
    targets = kw.pop("targets", ())
    return load_stack(LoadOptions(files=[str(path)], **kw), targets=targets)


def load_errors(path: Path, **kw: Any) -> list[str]:
    with pytest.raises(PystackError) as info:
        load_file(path, **kw)
    return str(info.value).splitlines()


def yaml_text(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False)
