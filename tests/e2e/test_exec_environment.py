"""``exec`` and health checks run in the container's own environment and working directory.

As Docker runs them: the image's ``ENV`` and ``WORKDIR`` and the service's ``environment`` and
``working_dir``, which ``exec -e`` adds to and ``exec -w`` replaces. Before, both ran with a fixed
``PATH`` (exec: plus the service's environment) in ``/``: ``exec`` missed the image's variables and
directory, and a health check such as ``curl localhost:$$PORT`` found no ``PORT``.
"""

from __future__ import annotations

from tests.e2e.conftest import Host

STACK = """
name: execenv
services:
  app:
    build: ./img
    network_mode: none
    environment:
      FROM_SERVICE: service-value
    command: ["sleep", "3600"]
    healthcheck:
      test: '[ "$$FROM_IMAGE/$$FROM_SERVICE" = image-value/service-value ] && [ "$$(pwd)" = /srv ]'
      interval: 1s
      start_interval: 200ms
      start_period: 30s
      retries: 1
"""


def test_exec_and_health_checks_see_the_container_s_environment_and_directory(host: Host) -> None:
    host.write("img/Dockerfile", "FROM busybox:latest\nENV FROM_IMAGE=image-value\nWORKDIR /srv\n")
    f = str(host.write("compose.yaml", STACK))
    host.pystack("-f", f, "up", "-d", "--wait", "--wait-timeout", "60")  # fails unless the probe passed
    out = host.pystack("-f", f, "exec", "-T", "app", "sh", "-c", 'echo "$FROM_IMAGE $FROM_SERVICE"; pwd').stdout
    assert out == "image-value service-value\n/srv\n"
    out = host.pystack("-f", f, "exec", "-T", "-e", "FROM_SERVICE=over", "-e", "EXTRA=1", "-w", "/tmp", "app",
                       "sh", "-c", 'echo "$FROM_IMAGE $FROM_SERVICE $EXTRA"; pwd').stdout
    assert out == "image-value over 1\n/tmp\n"
    host.pystack("-f", f, "down", "-t", "0")
