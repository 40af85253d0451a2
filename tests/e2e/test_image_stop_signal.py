"""The image's STOPSIGNAL is how its containers are stopped unless the service names its own
``stop_signal``, as Docker stops them (postgres' image asks for SIGINT, its fast shutdown; nginx's
for SIGQUIT, its graceful one). Before, every stop sent SIGTERM, and a PID 1 that only handles its
image's signal ran out its grace period and was killed."""

from __future__ import annotations

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

LOOP = "trap 'echo got-$$0; exit 0' {sig}; while true; do sleep 0.1; done"


def test_the_image_s_stop_signal_unless_the_service_names_one(host: Host) -> None:
    host.write("img/Dockerfile", "FROM busybox:latest\nSTOPSIGNAL SIGUSR1\n")
    f = str(host.write("compose.yaml", f"""
name: stopsig
services:
  image_s:
    build: ./img
    network_mode: none
    command: ["sh", "-c", "{LOOP.format(sig='USR1')}", "usr1"]
  own:
    build: ./img
    network_mode: none
    stop_signal: SIGTERM
    command: ["sh", "-c", "{LOOP.format(sig='TERM')}", "term"]
"""))
    host.pystack("-f", f, "up", "-d")
    host.pystack("-f", f, "stop", "-t", "30")
    listed = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    rows = {r["Service"]: r["ExitCode"] for r in listed}
    assert rows == {"image_s": 0, "own": 0}  # each caught its signal: none was killed after the grace period
    logs = host.pystack("-f", f, "logs", "--no-log-prefix").stdout.split()
    assert sorted(logs) == ["got-term", "got-usr1"]
    host.pystack("-f", f, "down", "-t", "0")
