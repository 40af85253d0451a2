"""Compose's ``build`` keys: ``labels`` land on the image, ``network: none`` cuts RUN steps off,
a network of the stack is refused, each key the builder does not apply is named in a warning, and
base images come from the registry (``pull``) as BuildKit's do."""

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


PULLED = """
name: buildpull
services:
  app:
    image: buildpull-app
    build:
      context: .
      dockerfile_inline: |
        FROM BASE
        CMD ["cat", "/version"]
      PULL
"""


def test_a_build_pulls_a_missing_base_and_with_pull_a_newer_one(host: Host, registry: str) -> None:
    """As BuildKit resolves FROM from the registry: a base missing from the store is pulled; a present
    one is used as it is, unless ``build --pull`` or the file's ``build.pull`` asks for the newest."""
    base = f"{registry}/team/base:1"

    def publish(version: str) -> None:
        host.write("base/Dockerfile", f"FROM busybox:latest\nRUN echo {version} > /version\n")
        host.pystack("build", "-q", "-t", base, str(host.workdir / "base"))
        host.pystack("image", "push", base)
        host.pystack("image", "rm", base)

    publish("v1")
    f = str(host.write("compose.yaml", PULLED.replace("BASE", base).replace("PULL", "")))
    first = host.pystack("-f", f, "build")
    assert f"pulling {base}" in first.stdout + first.stderr
    assert host.pystack("-f", f, "run", "--rm", "-T", "app").stdout == "v1\n"

    host.pystack("image", "tag", base, f"{base}-kept")  # the store's copy, kept under another name
    publish("v2")
    host.pystack("image", "tag", f"{base}-kept", base)  # back in the store: present, but older
    kept = host.pystack("-f", f, "build")
    assert "pulling" not in kept.stdout + kept.stderr
    assert host.pystack("-f", f, "run", "--rm", "-T", "app").stdout == "v1\n"
    pulled = host.pystack("-f", f, "build", "--pull")
    assert f"pulling {base}" in pulled.stdout + pulled.stderr
    assert host.pystack("-f", f, "run", "--rm", "-T", "app").stdout == "v2\n"

    host.pystack("image", "tag", f"{base}-kept", base)  # older again
    host.write("compose.yaml", PULLED.replace("BASE", base).replace("PULL", "pull: true"))
    by_file = host.pystack("-f", f, "build")
    assert f"pulling {base}" in by_file.stdout + by_file.stderr
    assert host.pystack("-f", f, "run", "--rm", "-T", "app").stdout == "v2\n"

    host.write("compose.yaml", PULLED.replace("BASE", f"{registry}/team/none:1").replace("PULL", ""))
    refused = host.pystack("-f", f, "build", check=False)
    assert refused.returncode != 0 and f"cannot pull {registry}/team/none:1" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_build_shm_size_ulimits_and_extra_hosts_reach_every_run_step(host: Host) -> None:
    """Compose's build.shm_size, build.ulimits and build.extra_hosts are what each RUN step gets (its
    /dev/shm, its rlimits, an /etc/hosts of its own), and none of them is left in the image."""
    f = str(host.write("compose.yaml", """
name: buildlimits
services:
  b:
    image: buildlimits-b
    build:
      context: .
      dockerfile_inline: |
        FROM busybox:latest
        RUN mkdir /out && df -k /dev/shm | tail -1 | awk '{print $$2}' > /out/shm \\
            && ulimit -n > /out/nofile && grep registry.example /etc/hosts > /out/hosts \\
            && grep -c host-gw-name /etc/hosts > /out/gw
      shm_size: 96m
      ulimits:
        nofile: {soft: 1200, hard: 1300}
      extra_hosts:
        - "registry.example=10.9.8.7"
        - "host-gw-name:host-gateway"
    command: [sh, -c, "cat /out/shm /out/nofile /out/hosts /out/gw; cat /etc/hosts"]
"""))
    res = host.pystack("-f", f, "build")
    assert "not honoured" not in res.stderr
    out = host.pystack("-f", f, "run", "--rm", "-T", "b").stdout.splitlines()
    assert out[0] == str(96 * 1024) and out[1] == "1200"
    assert out[2].split() == ["10.9.8.7", "registry.example"] and out[3] == "1"
    assert not any("registry.example" in line for line in out[4:])  # the step's file stayed out of the image
    host.pystack("image", "rm", "buildlimits-b")
