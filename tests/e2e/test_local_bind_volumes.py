"""A named volume of the local driver that binds a host directory, the Compose idiom
``driver_opts: {type: none, o: bind, device: /path}``, as Docker's local driver mounts it.

The container sees and writes the host directory; ``o: bind,ro`` makes it read-only; an empty one
receives the image's content at the target, as any empty volume does; ``down -v`` forgets the
volume and leaves the directory and its files alone. Before, ``driver_opts`` were ignored without
a word: the service got an empty volume of its own and the host directory was never used.
"""

from __future__ import annotations

from tests.e2e.conftest import Host


def test_a_volume_that_binds_a_host_directory(host: Host) -> None:
    shared = host.workdir / "shared"
    seeded = host.workdir / "seeded"
    host.write("shared/from-host", "hello from the host\n")
    seeded.mkdir()
    host.write("img/seed/x", "from the image\n")
    host.write("img/Dockerfile", "FROM busybox:latest\nCOPY seed /seed\n")
    f = str(host.write("compose.yaml", f"""
name: bindvol
services:
  app:
    build: ./img
    network_mode: none
    command: ["sleep", "3600"]
    volumes: ["data:/data", "ro:/ro", "seed:/seed"]
volumes:
  data:
    driver: local
    driver_opts: {{type: none, o: bind, device: {shared}}}
  ro:
    driver_opts: {{type: none, o: "bind,ro", device: {shared}}}
  seed:
    driver_opts: {{type: none, o: bind, device: {seeded}}}
"""))
    host.pystack("-f", f, "up", "-d")
    assert host.pystack("-f", f, "exec", "-T", "app", "cat", "/data/from-host").stdout == "hello from the host\n"
    host.pystack("-f", f, "exec", "-T", "app", "sh", "-c", "echo from the container > /data/from-container")
    assert (shared / "from-container").read_text() == "from the container\n"
    res = host.pystack("-f", f, "exec", "-T", "app", "touch", "/ro/nope", check=False)
    assert res.returncode != 0 and "Read-only file system" in res.stderr
    assert (seeded / "x").read_text() == "from the image\n"  # the empty directory got the image's /seed
    host.pystack("-f", f, "down", "-t", "0", "-v")
    assert sorted(p.name for p in shared.iterdir()) == ["from-container", "from-host"]
    assert (seeded / "x").exists()
