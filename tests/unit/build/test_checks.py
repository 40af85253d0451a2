"""BuildKit's build checks that the Dockerfile's text decides: each rule found on its line, with
BuildKit's message, and a clean Dockerfile found clean."""

from __future__ import annotations

import pytest

from orchestrator.errors import ImageError
from orchestrator.images.build.checks import Finding, check


def _found(text: str) -> list[tuple[str, int, str]]:
    return [(f.rule, f.line, f.message) for f in check(text)]


def test_a_clean_dockerfile_has_no_findings() -> None:
    text = """# syntax=docker/dockerfile:1
ARG BASE=alpine
FROM ${BASE} AS build
ARG VERSION=1
ENV APP_HOME=/app PATH=/usr/bin
LABEL org.opencontainers.image.authors="dev@example.com"
WORKDIR /app
RUN echo building \\
    && echo done
EXPOSE 8080/tcp 53/udp 80
FROM build
HEALTHCHECK CMD ["true"]
ENTRYPOINT ["/bin/app"]
CMD ["--serve"]
"""
    assert check(text) == []


def test_stage_names_and_the_as_keyword() -> None:
    text = """FROM alpine as Builder
FROM alpine AS scratch
FROM alpine AS builder
from alpine as base
"""
    assert _found(text) == [
        ("FromAsCasing", 1, "'as' and 'FROM' keywords' casing do not match"),
        ("StageNameCasing", 1, "Stage name 'Builder' should be lowercase"),
        ("ReservedStageName", 2, "'scratch' is reserved and should not be used as a stage name"),
        ("DuplicateStageName", 3, "Duplicate stage name 'builder', stage names should be unique"),
        ("ConsistentInstructionCasing", 4, "Command 'from' should match the case of the command majority (uppercase)"),
    ]


def test_instruction_casing_follows_the_majority() -> None:
    text = "from alpine\nrun true\nRun true\nCOPY a b\n"
    assert _found(text) == [
        ("ConsistentInstructionCasing", 3, "Command 'Run' should match the case of the command majority (lowercase)"),
        ("ConsistentInstructionCasing", 4, "Command 'COPY' should match the case of the command majority (lowercase)"),
    ]


def test_shell_form_cmd_and_entrypoint_unless_a_shell_was_chosen() -> None:
    text = """FROM alpine
ENTRYPOINT my-program start
CMD echo "Hello, world!"
FROM alpine
SHELL ["/bin/bash", "-c"]
CMD echo meant for bash
"""
    assert _found(text) == [
        ("JSONArgsRecommended", 2, "JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related "
                                   "to OS signals"),
        ("JSONArgsRecommended", 3, "JSON arguments recommended for CMD to prevent unintended behavior related to OS "
                                   "signals"),
    ]


def test_maintainer_legacy_key_value_repeats_and_protocol_casing() -> None:
    text = """FROM alpine
MAINTAINER moby@example.com
ENV PATH /usr/local/bin
LABEL version 1
CMD ["a"]
CMD ["b"]
HEALTHCHECK NONE
HEALTHCHECK CMD ["true"]
EXPOSE 80/TCP 443/tcp
"""
    assert _found(text) == [
        ("MaintainerDeprecated", 2, "MAINTAINER instruction is deprecated in favor of using label"),
        ("LegacyKeyValueFormat", 3, '"ENV key=value" should be used instead of legacy "ENV key value" format'),
        ("LegacyKeyValueFormat", 4, '"LABEL key=value" should be used instead of legacy "LABEL key value" format'),
        ("MultipleInstructionsDisallowed", 5, "Multiple CMD instructions should not be used in the same stage "
                                              "because only the last one will be used"),
        ("MultipleInstructionsDisallowed", 7, "Multiple HEALTHCHECK instructions should not be used in the same "
                                              "stage because only the last one will be used"),
        ("ExposeProtoCasing", 9, "Defined protocol '80/TCP' in EXPOSE instruction should be lowercase"),
    ]


def test_from_arguments_must_be_declared_before_the_first_from() -> None:
    text = """ARG TAG=3
FROM alpine:${TAG}
FROM ${REGISTRY:-docker.io}/library/alpine:$VERSION AS next
FROM --platform=$BUILDPLATFORM alpine:$TAG
"""
    assert _found(text) == [
        ("UndefinedArgInFrom", 3, "FROM argument 'REGISTRY' is not declared"),
        ("UndefinedArgInFrom", 3, "FROM argument 'VERSION' is not declared"),
    ]


def test_secrets_in_arg_or_env_names() -> None:
    text = """ARG GITHUB_TOKEN
FROM alpine
ARG PUBLIC_KEY API_KEY=x
ENV DB_PASSWORD=hunter2 KEYBOARD=us
ENV AWS_SECRET_ACCESS_KEY abc
ENV MONKEY=1 AUTHOR=me
ENV NOTE="a token=abc"
"""
    assert _found(text) == [
        ("SecretsUsedInArgOrEnv", 1, 'Do not use ARG or ENV instructions for sensitive data (ARG "GITHUB_TOKEN")'),
        ("SecretsUsedInArgOrEnv", 3, 'Do not use ARG or ENV instructions for sensitive data (ARG "API_KEY")'),
        ("SecretsUsedInArgOrEnv", 4, 'Do not use ARG or ENV instructions for sensitive data (ENV "DB_PASSWORD")'),
        ("LegacyKeyValueFormat", 5, '"ENV key=value" should be used instead of legacy "ENV key value" format'),
        ("SecretsUsedInArgOrEnv", 5,
         'Do not use ARG or ENV instructions for sensitive data (ENV "AWS_SECRET_ACCESS_KEY")'),
    ]


def test_lines_count_continuations_comments_and_heredocs() -> None:
    text = """FROM alpine
# a comment
RUN <<EOF
echo from a heredoc
EOF
RUN echo one \\
    two
cmd echo late
"""
    assert _found(text) == [
        ("ConsistentInstructionCasing", 8, "Command 'cmd' should match the case of the command majority (uppercase)"),
        ("JSONArgsRecommended", 8, "JSON arguments recommended for CMD to prevent unintended behavior related to OS "
                                   "signals"),
    ]


def test_rule_pages_are_named_as_buildkit_names_them() -> None:
    assert Finding("JSONArgsRecommended", "", 1).url == "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/"
    assert Finding("FromAsCasing", "", 1).url == "https://docs.docker.com/go/dockerfile/rule/from-as-casing/"
    assert Finding("UndefinedArgInFrom", "", 1).url == "https://docs.docker.com/go/dockerfile/rule/undefined-arg-in-from/"


def test_a_dockerfile_the_parser_refuses_is_an_error_with_its_line() -> None:
    with pytest.raises(ImageError, match=r"Dockerfile:2: unknown instruction 'BOGUS'"):
        check("FROM alpine\nBOGUS x\n")
    with pytest.raises(ImageError, match=r"^app/Dockerfile:3: ENV 'A=1 B': 'B' is not KEY=VALUE$"):
        check("FROM alpine\nARG X\nENV A=1 B\n", "app/Dockerfile")
