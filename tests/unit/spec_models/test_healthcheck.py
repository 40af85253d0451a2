"""healthcheck: string test to CMD-SHELL, durations to seconds, fields left out kept unset, disable."""

from __future__ import annotations

from orchestrator.spec.models import Healthcheck

from .helpers import service, service_errors


def test_shell_form_and_fields_left_unset() -> None:
    """The image's HEALTHCHECK fills what is left out, so no default may stand in for it here."""
    hc = service({"healthcheck": {"test": "curl -f localhost"}}).healthcheck
    assert hc == Healthcheck(test=["CMD-SHELL", "curl -f localhost"])
    assert hc is not None and (hc.interval, hc.timeout, hc.retries, hc.start_period, hc.start_interval) == (
        None, None, None, None, None)


def test_no_test_is_accepted() -> None:
    """Compose takes the test from the image then (immich: ``healthcheck: {disable: false}``)."""
    hc = service({"healthcheck": {"interval": "5s"}}).healthcheck
    assert hc == Healthcheck(interval=5.0) and hc.test is None
    hc = service({"healthcheck": {"disable": False}}).healthcheck
    assert hc == Healthcheck() and not hc.disable
    assert service({"healthcheck": {}}).healthcheck == Healthcheck()


def test_durations() -> None:
    hc = service({"healthcheck": {"test": ["CMD", "true"], "interval": "1m30s", "timeout": "500ms",
                                  "start_period": "10s", "start_interval": "1s", "retries": 5}}).healthcheck
    assert hc is not None
    assert (hc.interval, hc.timeout, hc.start_period, hc.start_interval, hc.retries) == (90, 0.5, 10, 1, 5)


def test_disable_forms_equal() -> None:
    a = service({"healthcheck": {"disable": True}}).healthcheck
    b = service({"healthcheck": {"test": ["NONE"]}}).healthcheck
    assert a == b and a is not None and a.disable and a.test == ["NONE"]


def test_bad_values() -> None:
    lines = service_errors({"healthcheck": {"test": ["WHAT"], "interval": "soon"}})
    assert any(line.startswith("services.svc.healthcheck.test:") for line in lines)
    lines = service_errors({"healthcheck": {"test": "x", "interval": "soon"}})
    assert lines[0].startswith('services.svc.healthcheck.interval: invalid duration "soon"')


def test_unknown_key() -> None:
    [line] = service_errors({"healthcheck": {"test": "x", "intervall": "1s"}})
    assert line.startswith("services.svc.healthcheck.intervall: unknown key")
