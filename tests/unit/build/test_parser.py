"""Dockerfile parsing, word expansion, .dockerignore and config-only instructions (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import ImageError
from orchestrator.images.build.dockerignore import Ignore
from orchestrator.images.build.instructions import StageVars, apply_config, arg_decls, parse_duration
from orchestrator.images.build.parser import parse
from orchestrator.images.build.words import expand, key_values, split_words


def test_stages_continuations_comments_and_flags() -> None:
    df = parse(
        "# syntax=docker/dockerfile:1\n"
        "ARG V=1\n"
        "FROM --platform=linux/amd64 busybox:${V} AS Build\n"
        "RUN echo a \\\n"
        "# a comment inside the continuation\n"
        "\n"
        "    && echo b\n"
        "COPY --chown=1:2 --chmod=640 a b /dst/\n"
        "from build\n"
        "CMD [\"sh\", \"-c\", \"x\"]\n"
    )
    assert [a.rest for a in df.global_args] == ["V=1"]
    assert [(s.base, s.name, s.platform) for s in df.stages] == [
        ("busybox:${V}", "build", "linux/amd64"), ("build", None, None)]
    run, copy = df.stages[0].instructions
    assert run.rest == "echo a     && echo b" and run.line == 4
    assert copy.flags == {"chown": "1:2", "chmod": "640"} and copy.rest == "a b /dst/"
    assert df.stages[1].instructions[0].json == ["sh", "-c", "x"]
    assert df.stage("BUILD") is df.stages[0] and df.stage("1") is df.stages[1]


def test_escape_directive_backtick() -> None:
    df = parse("# escape=`\nFROM scratch\nRUN dir c:\\ `\n  && echo x\n")
    assert df.escape == "`"
    assert df.stages[0].instructions[0].rest == "dir c:\\   && echo x"


@pytest.mark.parametrize("text,msg", [
    ("RUN x\n", "before the first FROM"),
    ("FROM a\nBOGUS x\n", "unknown instruction"),
    ("# nothing\n", "no FROM"),
    ("FROM a AS\n", "optional 'AS name'"),
    ("# escape=x\nFROM a\n", "invalid escape"),
])
def test_parse_errors_are_one_line_with_location(text: str, msg: str) -> None:
    with pytest.raises(ImageError) as info:
        parse(text)
    assert msg in str(info.value) and "\n" not in str(info.value)


def test_word_splitting_and_expansion() -> None:
    env = {"A": "x", "E": "", "P": "/p"}
    assert split_words("a 'b c' \"d $A\" e\\ f '$A'", env) == ["a", "b c", "d x", "e f", "$A"]
    assert expand("${A}-${B:-def}-${E:-empty}-${E-set}-${A:+alt}-${B:+alt}-$P/z-\\$A", env) == \
        "x-def-empty--alt--/p/z-$A"
    assert split_words("${NOPE}", env) == [""]
    with pytest.raises(ImageError):
        split_words("'unterminated", env)


def test_env_and_label_forms() -> None:
    env = {"X": "1"}
    assert key_values('A=1 B="two words" C=$X D=a\\ b E=', env, "\\", "ENV") == [
        ("A", "1"), ("B", "two words"), ("C", "1"), ("D", "a b"), ("E", "")]
    assert key_values("LEGACY value with words", env, "\\", "ENV") == [("LEGACY", "value with words")]
    with pytest.raises(ImageError):
        key_values("A=1 junk", env, "\\", "ENV")


def _apply(lines: str, v: StageVars | None = None) -> tuple[dict[str, Any], StageVars]:
    df = parse("FROM scratch\n" + lines)
    inner: dict[str, Any] = {"Cmd": ["base"]}
    v = v or StageVars()
    config: dict[str, object] = {}
    for ins in df.stages[0].instructions:
        assert apply_config(ins, inner, v, "\\", config) is not None
    return inner, v


def test_config_instructions() -> None:
    inner, _v = _apply(
        "ENV PATH=/bin GREET=hi\nUSER ${GREET}:0\nEXPOSE 80 53/udp 8000-8001\nVOLUME /data /x\n"
        "VOLUME [\"/v1\", \"/v2\"]\nSTOPSIGNAL SIGINT\nLABEL k=v\nSHELL [\"/bin/bash\", \"-c\"]\n"
        "ENTRYPOINT exec app\nHEALTHCHECK --interval=1m30s --retries=2 CMD curl -f localhost || exit 1\n"
    )
    assert inner["Env"] == ["PATH=/bin", "GREET=hi"] and inner["User"] == "hi:0"
    assert set(inner["ExposedPorts"]) == {"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}
    assert set(inner["Volumes"]) == {"/data", "/x", "/v1", "/v2"}
    assert inner["StopSignal"] == "SIGINT" and inner["Labels"] == {"k": "v"}
    assert inner["Entrypoint"] == ["/bin/bash", "-c", "exec app"]
    assert "Cmd" not in inner  # a new ENTRYPOINT drops the inherited CMD
    assert inner["Healthcheck"] == {"Test": ["CMD-SHELL", "curl -f localhost || exit 1"],
                                    "Interval": 90_000_000_000, "Retries": 2}
    inner, _ = _apply("ENTRYPOINT [\"app\"]\nCMD [\"--flag\"]\nHEALTHCHECK NONE\n")
    assert inner["Entrypoint"] == ["app"] and inner["Cmd"] == ["--flag"]
    assert inner["Healthcheck"] == {"Test": ["NONE"]}


def test_config_errors() -> None:
    for bad in ("EXPOSE 80/xyz", "EXPOSE 70000", "SHELL /bin/sh", "HEALTHCHECK --interval=abc CMD x",
                "HEALTHCHECK --bogus=1 CMD x", "USER"):
        with pytest.raises(ImageError):
            _apply(bad + "\n")


def test_arg_declarations_and_durations() -> None:
    df = parse('FROM scratch\nARG A B=2 C="x y"\n')
    assert arg_decls(df.stages[0].instructions[0], {}, "\\") == [("A", None), ("B", "2"), ("C", "x y")]
    assert parse_duration("1h2m3s", "t") == 3_723_000_000_000 and parse_duration("500ms", "t") == 500_000_000
    with pytest.raises(ImageError):
        parse_duration("5", "t")


def test_dockerignore_rules() -> None:
    ig = Ignore(["# comment", "*.log", "build/", "!build/keep.txt", "**/secret", "/docs/*.md", "tmp?"])
    assert ig.ignored("a.log") and not ig.ignored("sub/a.log")
    assert ig.ignored("build") and ig.ignored("build/x.o") and not ig.ignored("build/keep.txt")
    assert ig.ignored("secret") and ig.ignored("a/b/secret") and ig.ignored("a/secret/file")
    assert ig.ignored("docs/x.md") and not ig.ignored("docs/sub/x.md")
    assert ig.ignored("tmp1") and not ig.ignored("tmp12")
    assert not ig.prunable("build") and Ignore(["node_modules"]).prunable("node_modules")
    assert not Ignore([]).ignored("anything")


def test_heredocs_are_collected() -> None:
    df = parse(
        "FROM scratch\n"
        "RUN <<EOF\n"
        "echo one\n"
        "# not a comment here\n"
        "EOF\n"
        "COPY <<-'CONF' /etc/app.conf\n"
        "\tkey=$NOT_EXPANDED\n"
        "CONF\n"
        "RUN cat <<A > /a\n"
        "x\n"
        "A\n"
    )
    run, copy, run2 = df.stages[0].instructions
    assert run.heredocs[0].content == "echo one\n# not a comment here\n" and run.heredocs[0].expand
    assert copy.heredocs[0].name == "CONF" and copy.heredocs[0].content == "key=$NOT_EXPANDED\n"
    assert not copy.heredocs[0].expand
    assert run2.heredocs[0].content == "x\n" and run2.rest == "cat <<A > /a"
    with pytest.raises(ImageError, match="not terminated"):
        parse("FROM scratch\nRUN <<EOF\necho\n")
