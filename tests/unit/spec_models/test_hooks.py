"""post_start / pre_stop: each hook a command (exec or shell form) and the exec options Compose allows."""

from __future__ import annotations

from .helpers import service, service_errors


def test_both_forms_and_every_option() -> None:
    svc = service({
        "environment": {"FROM_PROJECT": "x"},
        "post_start": [{"command": "chown -R 1001:1001 /data", "user": "root", "privileged": "true"},
                       {"command": ["sh", "-c", "echo $X"], "working_dir": "/srv", "environment": ["X=1", "Y"]}],
        "pre_stop": [{"command": "./flush.sh", "x-note": "ignored like any extension"}],
    })
    assert svc.post_start == [
        {"command": ["chown", "-R", "1001:1001", "/data"], "user": "root", "privileged": True},
        {"command": ["sh", "-c", "echo $X"], "working_dir": "/srv", "environment": {"X": "1", "Y": None}},
    ]
    assert svc.pre_stop == [{"command": ["./flush.sh"]}]


def test_every_bad_entry_is_reported_at_its_own_path() -> None:
    lines = service_errors({"post_start": [{"command": "ok"}, {"user": "root"}, "echo", {"command": "x", "usr": 1}],
                            "pre_stop": {"command": "x"}})
    assert lines == [
        "services.svc.post_start[1].command: a hook needs a command",
        "services.svc.post_start[2]: expected a mapping with a command",
        "services.svc.post_start[3].usr: unknown key 'usr' (a hook has command, user, privileged, working_dir, "
        "environment)",
        "services.svc.pre_stop: expected a list of hooks, each a mapping with a command",
    ]


def test_hooks_change_the_configuration_hash() -> None:
    """Compose recreates a container whose hooks changed: they are part of its configuration."""
    a = service({"post_start": [{"command": "true"}]}).config_hash()
    b = service({"post_start": [{"command": "false"}]}).config_hash()
    assert a != b != service({}).config_hash()
