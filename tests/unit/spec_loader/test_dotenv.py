"""``.env`` / ``env_file`` parsing; each compose-spec fixture with values derived from the spec's rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.errors import SpecError
from orchestrator.spec.dotenv import parse_dotenv, read_env_file
from tests.helpers.shared import SHARED

FIXTURES = Path(SHARED, "compose-spec/dotenv/fixtures")


def fixture(name: str, env: dict[str, str] | None = None, fmt: str | None = None) -> dict[str, str]:
    return read_env_file(FIXTURES / name, lookup=(env or {}).get, format=fmt)


PLAIN = {
    "OPTION_A": "1",
    "OPTION_B": "2",
    "OPTION_C": "3",
    "OPTION_D": "4",
    "OPTION_E": "5",
    "456": "ABC",
    "OPTION_F": "",
    "OPTION_G": "",
    "OPTION_H": "my string",
}


def test_plain() -> None:
    assert fixture("plain.env") == PLAIN


def test_utf8_bom_is_skipped() -> None:
    assert fixture("utf8-bom.env") == PLAIN


def test_quoted() -> None:
    assert fixture("quoted.env") == {
        "OPTION_A": "1",
        "OPTION_B": "2",
        "OPTION_C": "",
        "OPTION_D": "\\n",  # single quotes are literal
        "OPTION_E": "1",
        "OPTION_F": "2",
        "OPTION_G": "",
        "OPTION_H": "\n",  # double quotes understand escapes
        "OPTION_I": "echo 'asd'",
        "OPTION_J": "first line\nsecond line\nthird line\nand so on",
        "OPTION_K": "Let's go!",
        "OPTION_Z": "last value",
    }


def test_exported() -> None:
    assert fixture("exported.env") == {"OPTION_A": "2", "OPTION_B": "\\n"}


def test_equals_inside_single_quotes() -> None:
    assert fixture("equals.env") == {"OPTION_A": "postgres://localhost:5432/database?sslmode=disable"}


def test_special_characters_in_names() -> None:
    assert fixture("special.env") == {
        "VAR.WITH.DOTS": "dots",
        "VAR_WITH_UNDERSCORES": "underscores",
        "VAR-WITH-DASHES": "dashes",
    }


def test_substitutions() -> None:
    expected = {"OPTION_A": "1", "OPTION_B": "1", "OPTION_C": "1", "OPTION_D": "1_1", "OPTION_E": ""}
    assert fixture("substitutions.env") == expected


def test_substitutions_with_defaults() -> None:
    expected = {"OPTION_A": "1", "OPTION_B": "1", "OPTION_C": "1", "OPTION_D": "1_1", "OPTION_E": ""}
    assert fixture("substitutions-default.env") == expected


def test_substitutions_prefer_the_environment() -> None:
    got = fixture("substitutions-default.env", {"OPTION_A": "env"})
    assert got["OPTION_A"] == "env" and got["OPTION_B"] == "env" and got["OPTION_D"] == "env_env"


def test_earlier_keys_of_the_file_come_before_the_lookup() -> None:
    assert parse_dotenv("A=1\nB=$A\nC=${D}", filename=".env", lookup={"A": "2", "D": "d"}.get) == {
        "A": "1",
        "B": "1",
        "C": "d",
    }


def test_unquoted() -> None:
    assert fixture("unquoted.env") == {
        "OPTION_A": "some quoted phrase",
        "OPTION_B": "first one with an unquoted phrase",
        "OPTION_C": "then another one with an unquoted phrase",
        "OPTION_D": "then another one with an unquoted phrase special è char",
        "OPTION_E": "then another one quoted phrase",
    }


def test_inherited_single() -> None:
    assert fixture("inherited-single-var.env", {"VAR_TO_BE_LOADED_FROM_OS_ENV": "os"}) == {
        "VAR_TO_BE_LOADED_FROM_OS_ENV": "os"
    }


def test_inherited_multi() -> None:
    assert fixture("inherited-multi-var.env", {"VAR_TO_BE_LOADED_FROM_OS_ENV": "os"}) == {
        "foo": "bar",
        "VAR_TO_BE_LOADED_FROM_OS_ENV": "os",
        "bar": "baz",
    }


def test_inherited_not_found_is_unset() -> None:
    assert fixture("inherited-not-found.env") == {}


def test_invalid_line_is_an_error_at_its_line() -> None:
    with pytest.raises(SpecError) as info:
        fixture("invalid1.env")
    assert info.value.line == 7 and "space" in str(info.value)


def test_yaml_style_separator_is_accepted_like_compose() -> None:
    assert fixture("custom.format") == {"FOO": "BAR", "ZOT": "QIX"}


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(SpecError, match="unsupported env file format"):
        fixture("custom.format", fmt="custom")


def test_raw_format_keeps_values_verbatim(tmp_path: Path) -> None:
    f = tmp_path / "raw.env"
    f.write_text("A='quoted' $X\n# comment\nB=\"x\"\nC\n")
    assert read_env_file(f, format="raw", lookup={"C": "c"}.get) == {"A": "'quoted' $X", "B": '"x"', "C": "c"}


def test_missing_required_and_optional(tmp_path: Path) -> None:
    assert read_env_file(tmp_path / "nope.env", required=False) == {}
    with pytest.raises(SpecError, match="not found"):
        read_env_file(tmp_path / "nope.env")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=VAL # comment", {"A": "VAL"}),
        ("A=VAL# not a comment", {"A": "VAL# not a comment"}),
        ("A=#value", {"A": "#value"}),
        ("A= # only a comment", {"A": ""}),
        ("A=a\t# tab before the comment", {"A": "a"}),
        ('A="VAL # not a comment"', {"A": "VAL # not a comment"}),
        ('A="VAL" # comment', {"A": "VAL"}),
        ("A='$OTHER'", {"A": "$OTHER"}),
        ("A='${OTHER}'", {"A": "${OTHER}"}),
        ('A="{\\"hello\\": \\"json\\"}"', {"A": '{"hello": "json"}'}),
        ('A="some\\tvalue"', {"A": "some\tvalue"}),
        ("A='some\\tvalue'", {"A": "some\\tvalue"}),
        ("A=some\\tvalue", {"A": "some\\tvalue"}),
        ('A="back\\\\slash"', {"A": "back\\slash"}),
        ('A="line1\nline2"', {"A": "line1\nline2"}),
        ('A="\\$NOT"', {"A": "$NOT"}),
        ("A=$B\nB=2", {"A": "", "B": "2"}),
        ("B=2\nA=${B}x", {"B": "2", "A": "2x"}),
        ("export  A=1", {"A": "1"}),
        ("export=1", {"export": "1"}),
        ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
        ("  # indented comment\n\n\nA=1", {"A": "1"}),
        ("A=", {"A": ""}),
        ("A=1\nA=2", {"A": "2"}),
    ],
)
def test_syntax_rules(text: str, expected: dict[str, str]) -> None:
    assert parse_dotenv(text, filename=".env") == expected


@pytest.mark.parametrize(
    "text", ['A="unterminated', "A='unterminated", "A B=1", "=1", "A$=1", 'A="x" trailing', "A=${B:?needed}"]
)
def test_errors(text: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_dotenv(text, filename=".env")
    assert info.value.file == ".env" and info.value.line == 1


_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
_safe = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\"'$\\#\x85"),
    max_size=20,
).map(str.strip)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(_keys, _safe, max_size=6))
def test_unquoted_values_round_trip(values: dict[str, str]) -> None:
    text = "\n".join(f"{k}={v}" for k, v in values.items())
    assert parse_dotenv(text, filename=".env") == values


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(_keys, st.text(max_size=20).filter(lambda s: "'" not in s and "\\" not in s), max_size=6))
def test_single_quoted_values_are_literal(values: dict[str, str]) -> None:
    values = {k: v.replace("\r", "") for k, v in values.items()}  # line endings are normalised to \n
    text = "\n".join(f"{k}='{v}'" for k, v in values.items())
    assert parse_dotenv(text, filename=".env") == values


def _dq_escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n").replace("\t", "\\t")


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(_keys, st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20), max_size=6))
def test_double_quoted_escapes_round_trip(values: dict[str, str]) -> None:
    values = {k: v.replace("\r", "") for k, v in values.items()}
    text = "\n".join(f'{k}="{_dq_escape(v)}"' for k, v in values.items())
    assert parse_dotenv(text, filename=".env") == values


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        out = parse_dotenv(text, filename=".env")
    except SpecError as err:
        assert "\n" not in str(err)
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in out.items())
