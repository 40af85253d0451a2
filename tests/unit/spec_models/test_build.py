"""build: a string becomes {context}; local contexts absolute, remote ones untouched; args as a map."""

from __future__ import annotations

from .helpers import service, service_errors


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


def test_build_without_image_is_fine_and_neither_is_an_error() -> None:
    assert service({"build": "."}, name="x").image == "busybox"
    from .helpers import errors

    assert errors({"services": {"s": {"command": "true"}}}) == ["services.s: needs an image or a build section"]


def test_unknown_build_key() -> None:
    [line] = service_errors({"build": {"context": ".", "dockerfle": "x"}})
    assert line.startswith("services.svc.build.dockerfle: unknown key")
