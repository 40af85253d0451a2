"""command and entrypoint: a string is split like a shell (as Compose does), a list kept."""

from __future__ import annotations

from .helpers import service, service_errors


def test_shell_split() -> None:
    svc = service({"command": "sh -c 'echo \"hi there\"'", "entrypoint": "/bin/tini --"})
    assert svc.command == ["sh", "-c", 'echo "hi there"'] and svc.entrypoint == ["/bin/tini", "--"]


def test_list_and_numbers() -> None:
    assert service({"command": ["sleep", 5]}).command == ["sleep", "5"]


def test_string_and_list_same_hash() -> None:
    assert service({"command": "a b"}).config_hash() == service({"command": ["a", "b"]}).config_hash()


def test_absent_vs_empty() -> None:
    assert service({}).command is None and service({"command": []}).command == []


def test_unbalanced_quote() -> None:
    [line] = service_errors({"command": "echo 'oops"})
    assert line.startswith("services.svc.command: cannot split")
