"""``run -p``: the one-off container's published ports parse as the stack file's do, ranges included."""

from __future__ import annotations

import pytest

from orchestrator.cli.run_flow import _publish
from orchestrator.errors import PystackError
from orchestrator.reconcile.desired import PortPlan


@pytest.mark.parametrize("spec, plan", [
    ("80", PortPlan(80, None, "0.0.0.0", "tcp")),
    ("8080:80", PortPlan(80, 8080, "0.0.0.0", "tcp")),
    ("127.0.0.1:8080:80/udp", PortPlan(80, 8080, "127.0.0.1", "udp")),
    ("127.0.0.1::80", PortPlan(80, None, "127.0.0.1", "tcp")),
    ("7000-7010:80", PortPlan(80, 7000, "0.0.0.0", "tcp", 7010)),
    ("127.0.0.1:7000-7000:80", PortPlan(80, 7000, "127.0.0.1", "tcp")),
])
def test_publish_parses_like_the_stack_file(spec: str, plan: PortPlan) -> None:
    assert _publish(spec) == plan


@pytest.mark.parametrize("spec", ["x", "8080:http", "7010-7000:80", "a-b:80"])
def test_a_bad_publish_is_a_one_line_error(spec: str) -> None:
    with pytest.raises(PystackError, match=r"run -p .*expected \[HOST_IP:\]"):
        _publish(spec)
