"""restart and deploy.restart_policy reconciled into one model."""

from __future__ import annotations

from .helpers import service, service_errors


def test_default_is_no() -> None:
    assert service({}).restart.condition == "no"


def test_on_failure_count() -> None:
    r = service({"restart": "on-failure:5"}).restart
    assert (r.condition, r.max_attempts) == ("on-failure", 5)


def test_unquoted_no_reads_as_false() -> None:
    assert service({"restart": False}).restart.condition == "no"


def test_deploy_policy_alone() -> None:
    r = service({"deploy": {"restart_policy": {"condition": "any", "delay": "5s", "window": "1m"}}}).restart
    assert (r.condition, r.delay, r.window) == ("always", 5.0, 60.0)


def test_both_merge_restart_names_condition() -> None:
    svc = service({"restart": "unless-stopped", "deploy": {"restart_policy": {"condition": "on-failure",
                                                                               "max_attempts": 2}}})
    assert (svc.restart.condition, svc.restart.max_attempts) == ("unless-stopped", 2)


def test_bad_policy() -> None:
    [line] = service_errors({"restart": "sometimes"})
    assert line.startswith('services.svc.restart: invalid restart policy "sometimes"')
