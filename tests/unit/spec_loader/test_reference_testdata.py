"""Every file of the compose-spec loader testdata loads, or fails with the clean error its name announces.

Dependency cycles (``depends-on-cycle``/``self``) load here: reporting them is validation's job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import SpecError
from orchestrator.spec.project import LoadOptions, load_project
from tests.helpers.shared import SHARED

TESTDATA = Path(SHARED, "compose-spec/loader/testdata")
FILES = sorted(p for p in TESTDATA.rglob("*.yaml"))

# files that must fail, and how; remote references (``remote:...``) are outside what pystack loads
EXPECTED_ERRORS = {
    "compose-include-cycle.yaml": "include cycle",
    "remote/cycle/compose-cycle.yaml": "remote stack files are not supported",
    "remote/cycle/compose.yaml": "remote stack files are not supported",
    "remote/nested/compose.yaml": "remote stack files are not supported",
}


def _load(rel: str) -> Any:
    return load_project(LoadOptions(files=[str(TESTDATA / rel)], environ={})).data


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_loads_or_fails_cleanly(path: Path) -> None:
    rel = str(path.relative_to(TESTDATA))
    expected = EXPECTED_ERRORS.get(rel)
    if expected is None:
        data = _load(rel)
        assert isinstance(data.get("name"), str)
        return
    with pytest.raises(SpecError, match=expected) as info:
        _load(rel)
    assert "\n" not in str(info.value) and info.value.file is not None


def test_testdata_is_present() -> None:
    assert len(FILES) >= 30


def test_extends_from_subdir_resolves_env_file_there() -> None:
    svc = _load("compose-test-extends.yaml")["services"]["importer"]
    assert svc == {
        "image": "nginx",
        "container_name": "imported",
        "env_file": [str(TESTDATA / "subdir" / "extra.env")],
        "volumes": ["/opt/data:/var/lib/mysql"],
    }


def test_extends_reset() -> None:
    services = _load("extends/reset.yaml")["services"]
    assert services == {
        "init": {"image": "alpine:latest", "command": "sleep infinity"},
        "base": {"image": "alpine:latest"},
    }


def test_extends_withdir_and_base() -> None:
    assert _load("extends/withdir/compose.yaml")["services"] == {"test": {"image": "hello-world"}}
    base = _load("extends/base.yaml")["services"]
    assert base["another"] == {"image": "base"}
    assert base["nil"] == {}
    # sibling.yaml sits in the project directory itself, so its relative path stays relative to it
    assert base["with-build"] == {"build": "."}


def test_extends_keeps_url_contexts() -> None:
    svc = _load("compose-test-extends-with-context-url.yaml")["services"]["importer-with-https-url"]
    assert svc == {"build": {"context": "https://github.com/docker/compose.git"}}


def test_include_with_project_directory() -> None:
    svc = _load("include/project-directory.yaml")["services"]["service"]
    subdir = TESTDATA / "subdir"
    assert svc["volumes"] == [
        {
            "type": "bind",
            "source": str(subdir / "compose-test-extends-imported.yaml"),
            "target": "/mnt/bind/compose.yaml",
        }
    ]
    assert svc["env_file"] == [str(subdir / "extra.env")]
    assert svc["build"]["context"] == str(subdir)


def test_combined_include_then_extends() -> None:
    svc = _load("combined/compose.yaml")["services"]["service"]
    assert svc == {"build": str(TESTDATA / "combined" / "dir")}


def test_include_merges_with_local_services() -> None:
    services = _load("compose-include.yaml")["services"]
    assert set(services) == {"bar", "imported"}
