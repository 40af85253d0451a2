"""Variable interpolation exactly as the Compose spec describes it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.spec.interpolate import InterpolationError, MissingRequired, interpolate

ENV = {"SET": "value", "EMPTY": "", "OTHER": "other"}


def run(template: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    missing: list[str] = []
    env = ENV if env is None else env
    return interpolate(template, env.get, on_missing=missing.append), missing


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$SET", "value"),
        ("${SET}", "value"),
        ("pre-${SET}-post", "pre-value-post"),
        ("$SET.x", "value.x"),
        ("$SETx", ""),
        ("${UNSET:-default}", "default"),
        ("${EMPTY:-default}", "default"),
        ("${SET:-default}", "value"),
        ("${UNSET-default}", "default"),
        ("${EMPTY-default}", ""),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:-}", ""),
        ("${UNSET:-${OTHER}}", "other"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("${UNSET:-a ${SET} b}", "a value b"),
        ("${SET:+[${OTHER}]}", "[other]"),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("a$$b", "a$b"),
        ("${UNSET:-$$}", "$"),
        ("${UNSET:-{}}", "{}"),
        ("no variables", "no variables"),
        ("${SET:?must be set}", "value"),
        ("${EMPTY?set but empty is fine}", ""),
        ("${SET:-${UNSET:?never evaluated}}", "value"),
    ],
)
def test_forms(template: str, expected: str) -> None:
    assert run(template)[0] == expected


def test_missing_variable_reported_and_blank() -> None:
    out, missing = run("x${NOPE}y$ALSO")
    assert out == "xy"
    assert missing == ["NOPE", "ALSO"]


def test_defaults_do_not_report_missing() -> None:
    _, missing = run("${NOPE:-x}${NOPE-y}${NOPE:+z}${NOPE+w}")
    assert missing == []


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${UNSET:?you must set UNSET}", "required variable UNSET is missing a value: you must set UNSET"),
        ("${EMPTY:?empty}", "required variable EMPTY is missing a value: empty"),
        ("${UNSET?gone}", "required variable UNSET is missing a value: gone"),
        ("${UNSET:?}", "required variable UNSET is missing a value"),
        ("${UNSET:?need ${SET}}", "required variable UNSET is missing a value: need value"),
    ],
)
def test_required(template: str, message: str) -> None:
    with pytest.raises(MissingRequired) as info:
        run(template)
    assert str(info.value) == message


@pytest.mark.parametrize("template", ["$", "a $ b", "${", "${SET", "${}", "${1A}", "${SET/a/b}", "$-x", "${SET:x}"])
def test_invalid_templates(template: str) -> None:
    with pytest.raises(InterpolationError):
        run(template)


def test_error_is_a_value_error() -> None:
    assert issubclass(InterpolationError, ValueError)


_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_plain = st.text(alphabet=st.characters(blacklist_characters="$", blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(_plain)
def test_text_without_dollar_is_unchanged(text: str) -> None:
    assert run(text, {})[0] == text


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=30))
def test_escaping_every_dollar_round_trips(text: str) -> None:
    assert run(text.replace("$", "$$"), {})[0] == text


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(_names, _plain, _plain)
def test_set_variable_substitutes_in_both_forms(name: str, value: str, around: str) -> None:
    env = {name: value}
    assert run(f"{around}${{{name}}}{around}", env)[0] == f"{around}{value}{around}"
    assert run(f"${name}", env)[0] == value


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(_names, st.one_of(st.none(), _plain), _plain.filter(lambda s: "}" not in s))
def test_modifiers_match_their_definition(name: str, value: str | None, word: str) -> None:
    env = {} if value is None else {name: value}
    is_set = value is not None
    non_empty = bool(value)
    assert run(f"${{{name}:-{word}}}", env)[0] == (value if non_empty else word)
    assert run(f"${{{name}-{word}}}", env)[0] == (value if is_set else word)
    assert run(f"${{{name}:+{word}}}", env)[0] == (word if non_empty else "")
    assert run(f"${{{name}+{word}}}", env)[0] == (word if is_set else "")


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet="${}:-?+AB_ x", max_size=25))
def test_arbitrary_templates_give_a_string_or_a_clean_error(template: str) -> None:
    try:
        out = run(template, {"A": "1", "B": ""})[0]
    except InterpolationError:
        return
    assert isinstance(out, str)


def test_deep_nesting_is_refused_quickly() -> None:
    assert run("${A:-" * 32 + "x" + "}" * 32, {})[0] == "x"
    with pytest.raises(InterpolationError, match="nested more than"):
        run("${A:-" * 50_000 + "x" + "}" * 50_000, {})
