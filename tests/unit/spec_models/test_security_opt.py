"""security_opt: Docker's option names, a seccomp profile path made absolute, the rest warned or refused."""

from __future__ import annotations

from .helpers import service_errors, stack


def test_known_options_load_and_a_profile_path_is_resolved() -> None:
    s = stack({"services": {"a": {"image": "x", "security_opt": [
        "no-new-privileges:true", "seccomp=./profiles/strict.json", "seccomp:unconfined"]}}})
    assert s.services["a"].security_opt == ["no-new-privileges:true", "seccomp=/srv/proj/profiles/strict.json",
                                            "seccomp:unconfined"]
    assert s.warnings == []


def test_labels_pystack_does_not_apply_are_warned_by_name() -> None:
    s = stack({"services": {"a": {"image": "x", "security_opt": ["apparmor=docker-default", "label=disable"]}}})
    assert s.warnings == [
        "services.a.security_opt[0]: apparmor=docker-default: accepted but not honoured "
        "(AppArmor profiles are not applied by pystack yet)",
        "services.a.security_opt[1]: label=disable: accepted but not honoured "
        "(SELinux labels are not applied by pystack yet)",
    ]


def test_unknown_and_malformed_options_are_errors() -> None:
    lines = service_errors({"security_opt": ["seccomp", "no-new-privileges=maybe", "turbo=on"]})
    assert "services.svc.security_opt[0]: seccomp needs a profile file or 'unconfined'" in lines
    assert "services.svc.security_opt[1]: no-new-privileges takes true or false, not 'maybe'" in lines
    assert any(line.startswith("services.svc.security_opt[2]: unknown security option 'turbo'") for line in lines)
