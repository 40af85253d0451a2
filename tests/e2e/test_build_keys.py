"""Compose's ``build`` keys: ``labels`` land on the image, ``network: none`` cuts RUN steps off,
a network of the stack is refused, and each key the builder does not apply is named in a warning."""

from __future__ import annotations

import json

from tests.e2e.conftest import Host

STACK = """
name: buildkeys
services:
  b:
    image: buildkeys-b
    build:
      context: .
      dockerfile_inline: |
        FROM busybox:latest
        RUN ls /sys/class/net | tr '\\\\n' ' ' > /links
        CMD ["cat", "/links"]
      labels: {org.example.team: core}
      network: NETWORK
      cache_from: [type=local,src=/tmp/nowhere]
"""


def test_build_labels_network_and_warnings(host: Host) -> None:
    assert host.sh("/usr/sbin/ip link add psbk0 type bridge").returncode == 0  # a link of the stand-in host
    f = str(host.write("compose.yaml", STACK.replace("NETWORK", "none")))
    res = host.pystack("-f", f, "build")
    assert "services.b.build.cache_from: not honoured by pystack's builder" in res.stderr
    [doc] = json.loads(host.pystack("image", "inspect", "buildkeys-b").stdout)
    assert doc["Config"]["Labels"] == {"org.example.team": "core"}
    out = host.pystack("-f", f, "run", "--rm", "-T", "b").stdout
    assert out.split() == ["lo"]  # RUN had a network namespace of its own

    host.write("compose.yaml", STACK.replace("NETWORK", "host"))
    host.pystack("-f", f, "build")
    assert "psbk0" in host.pystack("-f", f, "run", "--rm", "-T", "b").stdout.split()  # the host's links

    host.write("compose.yaml", STACK.replace("NETWORK", "backend"))
    refused = host.pystack("-f", f, "build", check=False)
    assert refused.returncode != 0 and "build.network 'backend'" in refused.stderr
    assert "Traceback" not in refused.stderr
    host.pystack("image", "rm", "buildkeys-b")
