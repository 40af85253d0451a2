"""Random and mutated stack files: the loader either loads them or raises a clean SpecError(s)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.errors import SpecError, SpecErrors
from orchestrator.spec.project import LoadOptions, load_project
from tests.helpers.shared import SHARED

SEEDS = [p.read_text() for p in sorted(Path(SHARED, "compose-spec/loader/testdata").rglob("*.yaml"))] + [
    "x-d: &d {image: a, environment: [A=1]}\nservices:\n  a: {<<: *d, ports: ['80:80'], command: !reset}\n"
    "  b:\n    extends: a\n    volumes: ['./x:/y']\ninclude:\n  - path: inc.yaml\n    env_file: e.env\n",
    "services:\n  s:\n    image: '${A:-${B:?no}}'\n    labels: {k: $$v}\n",
]

_SIGNIFICANT = [*list(":-[]{}&*!|>'\"#%@`,?\n \t$"), "!reset", "!override", "<<", "${X", "}", "*d", "&d", "---"]
_VOCAB = [
    "services",
    "extends",
    "include",
    "file",
    "service",
    "path",
    "project_directory",
    "env_file",
    "ports",
    "volumes",
    "environment",
    "name",
    "build",
    "image",
    "x-a",
    "profiles",
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fuzz")
    (d / "inc.yaml").write_text("services:\n  inc: {image: i}\n")
    (d / "e.env").write_text("A=1\n")
    return d


def _check(workdir: Path, text: str | bytes) -> None:
    path = workdir / "compose.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    try:
        project = load_project(LoadOptions(files=[str(path)], environ={"A": "1"}))
    except (SpecError, SpecErrors) as err:
        assert str(err)
        return
    assert isinstance(project.data, dict)


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "replace"]))
        if op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 8)) :]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(_SIGNIFICANT)) + text[i:]
        elif op == "duplicate":
            j = min(len(text), i + draw(st.integers(1, 40)))
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + draw(st.sampled_from(_VOCAB)) + text[i + 1 :]
    return text


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.floats(allow_nan=False, width=32),
    st.sampled_from(["${A}", "$$", "${NOPE:-d}", "./rel", "/abs", "80:80", "a=b", "inc.yaml", "a", "~"]),
    st.text(max_size=8),
)
_trees = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_VOCAB) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(
    max_examples=250, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(_mutated())
def test_mutated_files(workdir: Path, text: str) -> None:
    _check(workdir, text)


@settings(
    max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.dictionaries(st.sampled_from(_VOCAB), _trees, max_size=5))
def test_random_structures(workdir: Path, tree: dict[str, object]) -> None:
    _check(workdir, yaml.safe_dump(tree, allow_unicode=True))


@settings(
    max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.binary(max_size=200))
def test_random_bytes(workdir: Path, data: bytes) -> None:
    _check(workdir, data)


@settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.sampled_from(_SIGNIFICANT + _VOCAB + ["a", "1", "\n  "]), max_size=40))
def test_random_yaml_like_text(workdir: Path, tokens: list[str]) -> None:
    _check(workdir, "".join(tokens))
