"""Every file of compose-spec's loader testdata loads, or fails with the error its name announces."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.shared import SHARED

from .helpers import load_errors, load_file

TESTDATA = Path(SHARED, "compose-spec/loader/testdata")
ALL = sorted(p.relative_to(TESTDATA).as_posix() for p in TESTDATA.rglob("*.yaml"))

EXPECTED_ERRORS = {
    "compose-depends-on-cycle.yaml": "dependency cycle detected: service1 -> service2 -> service3 -> service1",
    "compose-depends-on-self.yaml": "service 'service1' depends on itself",
    "compose-include-cycle.yaml": "include cycle",
    # the name says "no-cycle" but this copy gives none of the services a profile: all are enabled, so
    # the cycle is real (test_profiles covers the profile case)
    "compose-depends-on-profile-no-cycle.yaml": "dependency cycle detected",
    # meant to be included (by include/compose.yaml, which passes its own project directory)
    "include/dir/compose.yaml": "extra.env not found",
    # a base for extends: some services only get an image from the files that extend them
    "extends/base.yaml": "needs an image or a build section",
}
# remote includes (git/http) are not fetched: there is no network
REMOTE_ERRORS = {"remote/compose.yaml", "remote/nested/compose.yaml", "remote/nested/compose-nested.yaml",
                 "remote/cycle/compose-cycle.yaml", "remote/cycle/compose.yaml"}


def test_listing_is_complete() -> None:
    assert len(ALL) >= 20


@pytest.mark.parametrize("name", ALL)
def test_file(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = TESTDATA / name
    monkeypatch.chdir(path.parent)
    if name in EXPECTED_ERRORS:
        lines = load_errors(path)
        assert any(EXPECTED_ERRORS[name] in line for line in lines), lines
        return
    try:
        stack = load_file(path)
    except Exception as exc:
        if name in REMOTE_ERRORS:
            assert "remote stack files are not supported" in str(exc)
            return
        raise AssertionError(f"{name}: {exc}") from None
    assert name not in REMOTE_ERRORS or stack is not None
    assert stack.name
