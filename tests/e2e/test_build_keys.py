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


def test_additional_contexts(host: Host) -> None:
    """A directory beside the build context is read by COPY --from and RUN --mount from=, under
    its name; a docker-image:// context stands in for the image FROM names."""
    host.write("shared/assets/logo.txt", "logo\n")
    host.write("shared/.dockerignore", "secret.txt\n")
    host.write("shared/secret.txt", "hidden\n")
    host.write("app/Dockerfile", """\
FROM base
COPY --from=assets assets/logo.txt /logo.txt
RUN --mount=type=bind,from=assets,source=assets,target=/mnt/a cp /mnt/a/logo.txt /logo2.txt
CMD ["sh", "-c", "cat /logo.txt /logo2.txt; cat /etc/alias-mark 2>/dev/null || echo plain-busybox"]
""")
    f = str(host.write("compose.yaml", """
name: buildctx
services:
  app:
    image: buildctx-app
    network_mode: none
    build:
      context: ./app
      additional_contexts:
        assets: ./shared
        base: docker-image://busybox:latest
"""))
    res = host.pystack("-f", f, "build")
    assert "not honoured" not in res.stderr
    assert host.pystack("-f", f, "run", "--rm", "-T", "app").stdout.split() == ["logo", "logo", "plain-busybox"]
    host.write("app/Dockerfile", "FROM busybox:latest\nCOPY --from=assets secret.txt /s\n")
    ignored = host.pystack("-f", f, "build", check=False)
    assert ignored.returncode != 0 and "excluded by .dockerignore" in ignored.stderr  # the context's own
    host.pystack("image", "rm", "buildctx-app")
