"""Records (what a load-cache hit gives) stand for their models: the same fields, the same methods and
the same plans, without pydantic."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from orchestrator.reconcile.translate import service_plan
from orchestrator.spec import models
from orchestrator.spec.records import Record, is_record_of, record_class, to_records

from .helpers import load_file

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus" / "valid"
FILES = sorted(p.name for p in CORPUS.glob("*.yaml"))
REPO = Path(__file__).resolve().parents[3]


def same(model: Any, rec: Any, where: str = "") -> None:
    """``rec`` mirrors ``model`` field by field, down the whole tree."""
    if isinstance(model, BaseModel):
        assert isinstance(rec, Record) and type(rec).__name__ == type(model).__name__, where
        for name in type(model).model_fields:
            same(getattr(model, name), getattr(rec, name), f"{where}.{name}")
    elif isinstance(model, dict):
        assert isinstance(rec, dict) and list(rec) == list(model), where
        for key, value in model.items():
            same(value, rec[key], f"{where}[{key!r}]")
    elif isinstance(model, (list, tuple)):
        assert type(rec) is type(model) and len(rec) == len(model), where
        for i, (a, b) in enumerate(zip(model, rec, strict=True)):
            same(a, b, f"{where}[{i}]")
    else:
        assert type(rec) is type(model) and rec == model, where


@pytest.mark.parametrize("name", FILES)
def test_a_record_stack_reads_as_its_model_and_plans_alike(name: str) -> None:
    stack = load_file(CORPUS / name)
    for svc in stack.services.values():
        svc.as_json()  # as the cache does before it stores a stack
    rec = to_records(stack)
    same(stack, rec)
    assert rec.service  # the methods a model has
    for svc_name, svc in stack.services.items():
        r = rec.service(svc_name)
        assert r.dependencies() == svc.dependencies()
        assert r.as_json() == svc.model_dump(mode="json")
        assert r.config_hash() == svc.config_hash()
        assert r.restart.to_compose() == svc.restart.to_compose()
        assert service_plan(rec, r, "sha256:x") == service_plan(stack, svc, "sha256:x")
    again = pickle.loads(pickle.dumps(rec))
    assert again == rec and again is not rec and is_record_of(again, "Stack")


def test_records_have_every_method_their_models_have() -> None:
    """A method added to a model but not to its behaviour class would be missing on a cache hit."""
    base = set(dir(BaseModel))
    for cls_name in models.__all__:
        cls = getattr(models, cls_name)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            continue
        own = {a for a in dir(cls) if not a.startswith("_") and a not in base and a not in cls.model_fields}
        missing = {a for a in own if not hasattr(record_class(cls_name), a)}
        assert not missing, f"{cls_name}: {sorted(missing)}"


def test_a_record_is_frozen_and_compares_by_fields() -> None:
    svc = load_file(CORPUS / "minimal.yaml").services
    model = next(iter(svc.values()))
    rec = to_records(model)
    with pytest.raises(AttributeError, match="frozen"):
        rec.image = "other"
    with pytest.raises(AttributeError, match="frozen"):
        del rec.image
    other = to_records(model)
    assert rec == other and rec is not other
    policy = to_records(model.restart)
    assert hash(policy) == hash(to_records(model.restart))  # hashable fields, as a frozen model's
    model.as_json()  # a private attribute (the JSON form) plays no part in equality
    assert to_records(model) == rec
    assert rec != policy
    assert repr(rec).startswith("Service(name=")


def test_a_cache_hit_does_not_import_pydantic(tmp_path: Path) -> None:
    """The point of records: a command whose stack comes from the cache never pays for pydantic."""
    (tmp_path / "stack.yaml").write_text(
        "services:\n  web: {image: busybox, depends_on: [db]}\n  db: {image: busybox}\n")
    code = (
        "import sys, os\n"
        "from orchestrator.spec import cache\n"
        "cache.RACY_MARGIN_NS = 0\n"
        "s = cache.load_stack_cached(files=['stack.yaml'], project_name=None, project_directory=None,"
        " profiles=[], env_files=[], cache_dir=__import__('pathlib').Path('c'))\n"
        "print(type(s).__module__, sorted(s.services), s.service('web').dependencies(),"
        " any(m == 'pydantic' or m.startswith('pydantic.') for m in sys.modules))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    first = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                           check=True).stdout
    second = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            check=True).stdout
    assert first.split()[0] == "orchestrator.spec.models.stack" and first.split()[-1] == "True"
    assert second == "orchestrator.spec.records ['db', 'web'] {'db': 'depends_on'} False\n"
