"""The load cache: a hit is the Stack a full load gives; every input that can change it is part of the key
or of the entry's validity; what cannot be described exactly is never stored."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import SpecErrors
from orchestrator.spec import cache
from orchestrator.spec import stack as spec_stack
from orchestrator.spec.models import Stack
from orchestrator.spec.project import LoadOptions
from orchestrator.spec.records import to_records

MAIN = """\
services:
  web:
    image: nginx:${TAG:-1}
    env_file: [app.env]
    environment: {FROM_DOTENV: "${DOT:-none}", UNSET: "${NOT_SET_ANYWHERE_XYZ}"}
  tool: {image: busybox, profiles: [tools]}
"""


class Counter:
    def __init__(self) -> None:
        self.calls = 0


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setattr(cache, "RACY_MARGIN_NS", 0)  # files of a test are written just before its loads
    monkeypatch.delenv("PYSTACK_NO_CACHE", raising=False)
    for name in list(os.environ):
        if name.startswith("COMPOSE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts full loads: a cache hit does not make one."""
    counter = Counter()
    real = spec_stack.load_stack

    def counting(*args: Any, **kwargs: Any) -> Stack:
        counter.calls += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(spec_stack, "load_stack", counting)
    return counter


def project(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    files = {"stack.yaml": MAIN, "app.env": "APP=1\n", ".env": "DOT=from-dotenv\n", **(extra or {})}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path / "stack.yaml"


def load(tmp_path: Path, files: list[str] | None = None, **kw: Any) -> Stack:
    options: dict[str, Any] = {"files": ["stack.yaml"] if files is None else files, "project_name": None,
                               "project_directory": None, "profiles": [], "env_files": [], "interpolate": True,
                               "targets": ()}
    options.update(kw)
    return cache.load_stack_cached(cache_dir=tmp_path / "root" / "cache" / "stacks", **options)


def entries(tmp_path: Path) -> list[Path]:
    d = tmp_path / "root" / "cache" / "stacks"
    return sorted(d.glob("*.stack")) if d.exists() else []


def edit(path: Path, text: str) -> None:
    path.write_text(text)


def test_a_hit_is_the_stack_of_a_full_load(tmp_path: Path, loads: Counter) -> None:
    project(tmp_path)
    first = load(tmp_path)
    second = load(tmp_path)
    assert loads.calls == 1
    assert second == to_records(first)  # a hit gives the stack's records (no pydantic import)...
    models = load(tmp_path, models=True)  # ...or its models, for who asks
    assert isinstance(models, Stack) and models == first and models is not first and loads.calls == 1
    assert second.services["web"].environment["FROM_DOTENV"] == "from-dotenv"
    assert second.services["web"].environment["APP"] == "1"
    assert second.warnings == first.warnings and any("NOT_SET_ANYWHERE_XYZ" in w for w in second.warnings)
    assert second.disabled_services.keys() == {"tool"}
    assert second.services["web"].config_hash() == first.services["web"].config_hash()
    [entry] = entries(tmp_path)
    assert entry.stat().st_mode & 0o777 == 0o600


def test_a_hit_carries_each_services_json_form(tmp_path: Path, loads: Counter) -> None:
    """The entry stores every service's JSON form, so a hit never builds the serializer; the form is
    the model's own dump, each call gets its own copy, and it plays no part in equality."""
    project(tmp_path)
    load(tmp_path)
    hit = load(tmp_path)
    web = hit.services["web"]
    assert web._json is not None  # made before the entry was written
    fresh = spec_stack.load_stack(LoadOptions(files=["stack.yaml"]))
    assert web.as_json() == fresh.services["web"].model_dump(mode="json")
    web.as_json()["image"] = "changed"
    assert web.as_json()["image"] == "nginx:1"
    model = load(tmp_path, models=True).services["web"]
    assert model._json is not None and model.as_json() == web.as_json()
    assert fresh.services["web"]._json is None and fresh.services["web"] == model


@pytest.mark.parametrize("name, text, check", [
    ("stack.yaml", MAIN.replace("nginx", "httpd"), lambda s: s.services["web"].image == "httpd:1"),
    (".env", "DOT=changed\n", lambda s: s.services["web"].environment["FROM_DOTENV"] == "changed"),
    ("app.env", "APP=2\n", lambda s: s.services["web"].environment["APP"] == "2"),
])
def test_an_edited_file_invalidates(tmp_path: Path, loads: Counter, name: str, text: str, check: Any) -> None:
    project(tmp_path)
    load(tmp_path)
    load(tmp_path)
    edit(tmp_path / name, text)
    stack = load(tmp_path)
    assert loads.calls == 2 and check(stack)
    assert load(tmp_path) == to_records(stack) and loads.calls == 2


def test_an_edited_include_or_extends_file_invalidates(tmp_path: Path, loads: Counter) -> None:
    (tmp_path / "sub").mkdir()
    files = {
        "stack.yaml": "include: [sub/inc.yaml]\nservices:\n  web: {extends: {file: base.yaml, service: b}}\n",
        "sub/inc.yaml": "services:\n  db: {image: postgres:15}\n",
        "base.yaml": "services:\n  b: {image: nginx:1}\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert load(tmp_path).services["db"].image == "postgres:15"
    edit(tmp_path / "sub/inc.yaml", "services:\n  db: {image: postgres:16}\n")
    assert load(tmp_path).services["db"].image == "postgres:16"
    edit(tmp_path / "base.yaml", "services:\n  b: {image: nginx:2}\n")
    assert load(tmp_path).services["web"].image == "nginx:2"
    assert loads.calls == 3
    load(tmp_path)
    assert loads.calls == 3


def test_an_included_projects_dotenv_appearing_invalidates(tmp_path: Path, loads: Counter) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "stack.yaml").write_text("include: [sub/inc.yaml]\n")
    (tmp_path / "sub/inc.yaml").write_text("services:\n  db: {image: 'postgres:${V:-15}'}\n")
    assert load(tmp_path).services["db"].image == "postgres:15"
    (tmp_path / "sub/.env").write_text("V=16\n")
    assert load(tmp_path).services["db"].image == "postgres:16"
    assert loads.calls == 2


def test_an_env_file_option_is_read_and_watched(tmp_path: Path, loads: Counter) -> None:
    project(tmp_path, {"other.env": "TAG=7\n"})
    assert load(tmp_path, env_files=["other.env"]).services["web"].image == "nginx:7"
    assert load(tmp_path, env_files=["other.env"]).services["web"].image == "nginx:7"
    assert loads.calls == 1
    edit(tmp_path / "other.env", "TAG=8\n")
    assert load(tmp_path, env_files=["other.env"]).services["web"].image == "nginx:8"
    assert load(tmp_path).services["web"].image == "nginx:1"  # another key: without --env-file
    assert loads.calls == 3


def test_an_optional_env_file_appearing_invalidates(tmp_path: Path, loads: Counter) -> None:
    (tmp_path / "stack.yaml").write_text(
        "services:\n  web: {image: nginx, env_file: [{path: opt.env, required: false}]}\n")
    assert "X" not in load(tmp_path).services["web"].environment
    (tmp_path / "opt.env").write_text("X=1\n")
    assert load(tmp_path).services["web"].environment["X"] == "1"
    (tmp_path / "opt.env").unlink()
    assert "X" not in load(tmp_path).services["web"].environment
    assert loads.calls == 3


def test_a_new_override_file_invalidates_discovery(tmp_path: Path, loads: Counter) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web: {image: nginx}\n")
    assert load(tmp_path, files=[]).services["web"].user is None
    assert load(tmp_path, files=[]).services["web"].user is None
    assert loads.calls == 1
    (tmp_path / "compose.override.yaml").write_text("services:\n  web: {user: nobody}\n")
    assert load(tmp_path, files=[]).services["web"].user == "nobody"
    assert loads.calls == 2
    (tmp_path / "compose.yml").write_text("services:\n  other: {image: x}\n")
    assert any("several stack files" in w for w in load(tmp_path, files=[]).warnings)
    assert loads.calls == 3


def test_a_changed_environment_variable_invalidates(tmp_path: Path, loads: Counter,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    project(tmp_path)
    monkeypatch.setenv("TAG", "5")
    assert load(tmp_path).services["web"].image == "nginx:5"
    monkeypatch.setenv("TAG", "6")
    assert load(tmp_path).services["web"].image == "nginx:6"
    monkeypatch.setenv("UNRELATED_VARIABLE_FOR_THE_CACHE", "1")  # the Stack keeps the whole environment
    assert load(tmp_path).environment["UNRELATED_VARIABLE_FOR_THE_CACHE"] == "1"
    assert loads.calls == 3


@pytest.mark.parametrize("change", [
    {"profiles": ["tools"]}, {"targets": ("web",)}, {"project_name": "other"}, {"interpolate": False},
    {"project_directory": "."}, {"files": ["./stack.yaml"]},
])
def test_other_options_are_other_entries(tmp_path: Path, loads: Counter, change: dict[str, Any]) -> None:
    project(tmp_path)
    plain = load(tmp_path)
    changed = load(tmp_path, **change)
    assert loads.calls == 2
    assert load(tmp_path, **change) == to_records(changed) and load(tmp_path) == to_records(plain)
    assert loads.calls == 2 and len(entries(tmp_path)) == 2


def test_another_directory_is_another_entry(tmp_path: Path, loads: Counter, monkeypatch: pytest.MonkeyPatch) -> None:
    project(tmp_path)
    load(tmp_path, files=[str(tmp_path / "stack.yaml")])
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    load(tmp_path, files=[str(tmp_path / "stack.yaml")])
    assert loads.calls == 2


@pytest.mark.parametrize("damage", ["garbage", "truncate", "foreign", "other-key", "world-readable"])
def test_a_damaged_or_foreign_entry_is_a_miss(tmp_path: Path, loads: Counter, damage: str) -> None:
    project(tmp_path)
    first = load(tmp_path)
    [entry] = entries(tmp_path)
    data = entry.read_bytes()
    if damage == "garbage":
        entry.write_bytes(b"\x80\x05not a pickle")
    elif damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage in ("foreign", "other-key"):
        content = pickle.loads(data)
        if damage == "foreign":
            content["version"] = cache.CACHE_VERSION + 1
        else:
            content["key"] = b"something else"
        entry.write_bytes(pickle.dumps(content))
    else:
        entry.chmod(0o644)
    assert load(tmp_path) == first
    assert loads.calls == 2
    assert load(tmp_path) == to_records(first) and loads.calls == 2  # rewritten


def test_errors_are_not_cached(tmp_path: Path, loads: Counter) -> None:
    (tmp_path / "stack.yaml").write_text("services:\n  web: {image: nginx, depends_on: [nope]}\n")
    for _ in range(2):
        with pytest.raises(SpecErrors):
            load(tmp_path)
    assert loads.calls == 2 and entries(tmp_path) == []


def test_stdin_is_not_cached(tmp_path: Path) -> None:
    calls = []
    made = Stack(name="x", working_dir=tmp_path)

    def full() -> Stack:
        calls.append(1)
        return made

    for _ in range(2):
        assert cache.load_stack_cached(files=["-"], project_name=None, project_directory=None, profiles=[],
                                       env_files=[], cache_dir=tmp_path / "c", load=full) is made
    assert len(calls) == 2 and not (tmp_path / "c").exists()


def test_pystack_no_cache(tmp_path: Path, loads: Counter, monkeypatch: pytest.MonkeyPatch) -> None:
    project(tmp_path)
    monkeypatch.setenv("PYSTACK_NO_CACHE", "1")
    load(tmp_path)
    load(tmp_path)
    assert loads.calls == 2 and entries(tmp_path) == []


def test_a_just_modified_file_is_not_trusted(tmp_path: Path, loads: Counter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "RACY_MARGIN_NS", 10**9)
    project(tmp_path)
    load(tmp_path)
    assert entries(tmp_path) == []
    past = os.stat(tmp_path / "stack.yaml").st_mtime - 10
    for name in ("stack.yaml", "app.env", ".env"):
        os.utime(tmp_path / name, (past, past))
    load(tmp_path)  # ctime is still recent: chmod or a rename could hide an edit
    assert entries(tmp_path) == []


def test_entries_are_bounded(tmp_path: Path, loads: Counter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    project(tmp_path)
    for name in ("a", "b", "c", "d", "e"):
        load(tmp_path, project_name=name)
    assert len(entries(tmp_path)) == 3


def test_an_unwritable_cache_is_only_slower(tmp_path: Path, loads: Counter) -> None:
    project(tmp_path)
    (tmp_path / "root").write_text("a file where the directory should be")
    load(tmp_path)
    load(tmp_path)
    assert loads.calls == 2


def test_only_the_loading_thread_is_recorded(tmp_path: Path) -> None:
    import threading

    seen: list[set[str]] = []
    (tmp_path / "outside").write_text("x")

    def full() -> Stack:
        t = threading.Thread(target=lambda: (tmp_path / "outside").read_text())
        t.start()
        t.join()
        (tmp_path / "inside").write_text("y")
        (tmp_path / "inside").read_text()
        return Stack(name="x", working_dir=tmp_path)

    real = cache._stored_states

    def spy(rec: Any, started: int) -> Any:
        seen.append(set(rec.opened))
        return real(rec, started)

    import unittest.mock

    with unittest.mock.patch.object(cache, "_stored_states", spy):
        cache.load_stack_cached(files=["x.yaml"], project_name=None, project_directory=None, profiles=[],
                                env_files=[], cache_dir=tmp_path / "c", load=full)
    assert seen == [{str(tmp_path / "inside")}]


def test_the_cli_loads_through_the_cache_and_prints_warnings_on_a_hit(
    tmp_path: Path, loads: Counter, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestrator.cli import project as cli_project
    from orchestrator.cli.options import GlobalOptions
    from orchestrator.cli.stack_loading import load_stack_for

    project(tmp_path)
    opts = GlobalOptions(files=["stack.yaml"], root=tmp_path / "root")
    first = load_stack_for(opts)
    err_first = capsys.readouterr().err
    second = cli_project.load(opts)
    err_second = capsys.readouterr().err
    assert loads.calls == 1 and to_records(first) == second
    assert "WARN" in err_first and err_first == err_second
    assert len(entries(tmp_path)) == 1


def test_an_import_writing_a_fresh_pyc_by_descriptor_leaves_the_load_cacheable() -> None:
    """After a code update a load's first import rewrites its .pyc, opening it by descriptor from
    importlib's frozen frames: not a file of the stack, so the load stays cacheable. A descriptor
    opened by anything else still makes it unstable (what it reads cannot be described)."""
    from orchestrator.spec import cache

    frozen: dict[str, object] = {"audit": cache._audit}
    exec(compile("def write_pyc(fd):\n    audit('open', (fd, 'wb', 0))\n",
                 "<frozen importlib._bootstrap_external>", "exec"), frozen)
    with cache._recording() as rec:
        frozen["write_pyc"](7)  # type: ignore[operator]
        assert not rec.unstable
        cache._audit("open", (7, "rb", 0))
        assert rec.unstable
