"""build: a string becomes {context}; local contexts absolute, remote ones untouched; args as a map."""

from __future__ import annotations

from pathlib import Path

from .helpers import load_file, service, service_errors, write


def test_string_to_context() -> None:
    b = service({"build": "./app"}).build
    assert b is not None and (b.context, b.dockerfile) == ("/srv/proj/app", "Dockerfile")


def test_long_form_equals_string() -> None:
    assert service({"build": "./app"}) == service({"build": {"context": "app", "dockerfile": "Dockerfile"}})


def test_remote_context_untouched_and_args() -> None:
    b = service({"build": {"context": "https://github.com/docker/compose.git", "args": ["A=1", "B"],
                           "target": "prod", "shm_size": "1g", "cache_from": ["x"]}}).build
    assert b is not None
    assert (b.context, b.args, b.target, b.shm_size) == ("https://github.com/docker/compose.git",
                                                         {"A": "1", "B": None}, "prod", 1024**3)


def test_args_without_a_value_take_the_project_value_like_environment() -> None:
    env = {"SENTRY_IMAGE": "getsentry/sentry:nightly", "B": "b"}
    listed = service({"build": {"context": ".", "args": ["SENTRY_IMAGE", "NOPE", "X=1", "E="]}}, environment=env)
    mapped = service({"build": {"context": ".", "args": {"B": None, "NOPE": None, "X": "own"}}}, environment=env)
    assert listed.build is not None and mapped.build is not None
    assert listed.build.args == {"SENTRY_IMAGE": "getsentry/sentry:nightly", "NOPE": None, "X": "1", "E": ""}
    assert mapped.build.args == {"B": "b", "NOPE": None, "X": "own"}


def test_args_from_the_dotenv_file(tmp_path: Path) -> None:
    write(tmp_path, "SENTRY_IMAGE=getsentry/sentry:nightly\n", ".env")
    path = write(tmp_path, "services:\n  web:\n    build: {context: ., args: [SENTRY_IMAGE]}\n"
                           "    environment: [SENTRY_IMAGE]\n")
    web = load_file(path).services["web"]
    assert web.build is not None and web.build.args == {"SENTRY_IMAGE": "getsentry/sentry:nightly"}
    assert web.environment == {"SENTRY_IMAGE": "getsentry/sentry:nightly"}


def test_build_without_image_is_fine_and_neither_is_an_error() -> None:
    assert service({"build": "."}, name="x").image == "busybox"
    from .helpers import errors

    assert errors({"services": {"s": {"command": "true"}}}) == ["services.s: needs an image or a build section"]


def test_unknown_build_key() -> None:
    [line] = service_errors({"build": {"context": ".", "dockerfle": "x"}})
    assert line.startswith("services.svc.build.dockerfle: unknown key")


def test_host_gateway_in_a_build_without_a_network_is_refused_at_its_key() -> None:
    lines = service_errors({"build": {"context": ".", "network": "none", "extra_hosts": ["x:host-gateway"]}})
    assert "services.svc.build.extra_hosts: host-gateway needs a network: this build's network is none" in lines
    b = service({"build": {"context": ".", "extra_hosts": ["x:host-gateway", "y=10.0.0.1"]}}).build
    assert b is not None and b.extra_hosts == [("x", "host-gateway"), ("y", "10.0.0.1")]
