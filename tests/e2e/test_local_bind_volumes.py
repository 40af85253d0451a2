"""A named volume of the local driver that binds a host directory, the Compose idiom
``driver_opts: {type: none, o: bind, device: /path}``, as Docker's local driver mounts it.

The container sees and writes the host directory; ``o: bind,ro`` makes it read-only; an empty one
receives the image's content at the target, as any empty volume does; ``down -v`` forgets the
volume and leaves the directory and its files alone. Before, ``driver_opts`` were ignored without
a word: the service got an empty volume of its own and the host directory was never used.
"""

from __future__ import annotations

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines


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


def test_a_changed_volume_definition_recreates_its_containers(host: Host) -> None:
    """Pointing a volume at another directory (or making it a tmpfs) is a change ``up`` applies and
    names, as Compose's ``up -y`` does after its prompt; a service without the volume stays."""
    first, second = host.workdir / "first", host.workdir / "second"
    host.write("first/which", "first\n")
    host.write("second/which", "second\n")
    text = """
name: voldefchange
services:
  app:
    image: busybox:latest
    network_mode: none
    command: ["sleep", "3600"]
    volumes: ["data:/data"]
  other:
    image: busybox:latest
    network_mode: none
    command: ["sleep", "3600"]
volumes:
  data:
    driver_opts: {type: none, o: bind, device: DEVICE}
"""
    f = str(host.write("compose.yaml", text.replace("DEVICE", str(first))))
    host.pystack("-f", f, "up", "-d")
    assert host.pystack("-f", f, "exec", "-T", "app", "cat", "/data/which").stdout == "first\n"
    ids = {c["Service"]: c["ID"] for c in json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)}

    host.write("compose.yaml", text.replace("DEVICE", str(second)))
    plan = host.pystack("-f", f, "up", "-d", "--dry-run").stdout
    assert "recreate voldefchange-app-1: top-level volumes.data.driver_opts.device changed" in plan
    assert "other" not in plan
    host.pystack("-f", f, "up", "-d", "-y", "-t", "0")  # Compose's -y is accepted: pystack has nothing to ask
    assert host.pystack("-f", f, "exec", "-T", "app", "cat", "/data/which").stdout == "second\n"
    after = {c["Service"]: c["ID"] for c in json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)}
    assert after["other"] == ids["other"] and after["app"] != ids["app"]

    host.write("compose.yaml", text.replace("driver_opts: {type: none, o: bind, device: DEVICE}",
                                            "driver_opts: {type: tmpfs, device: tmpfs, o: size=1m}"))
    host.pystack("-f", f, "up", "-d", "-t", "0")
    mounts = host.pystack("-f", f, "exec", "-T", "app", "grep", " /data ", "/proc/mounts").stdout
    assert mounts.startswith("tmpfs /data tmpfs")
    host.pystack("-f", f, "down", "-t", "0", "-v")
    assert (first / "which").exists() and (second / "which").exists()


def test_an_external_volume_must_exist_and_is_never_made(host: Host) -> None:
    """As Compose: ``external: true`` names a volume another stack made; missing, ``up`` and ``run``
    refuse with one line and make nothing (before, an empty volume was made in its place)."""
    owner = str(host.write("owner.yaml", """
name: volowner
services:
  w:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "echo from-owner > /data/f; sleep 1000"]
    volumes: ["shared:/data"]
volumes:
  shared: {name: volext-shared}
"""))
    user = str(host.write("user.yaml", """
name: voluser
services:
  r:
    image: busybox:latest
    network_mode: none
    command: ["sleep", "1000"]
    volumes: ["shared:/data"]
volumes:
  shared: {external: true, name: volext-shared}
"""))
    for args in (("up", "-d"), ("run", "--rm", "-T", "r", "true")):
        res = host.pystack("-f", user, *args, check=False)
        assert res.returncode != 0 and "external volume 'volext-shared' not found" in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
    assert not (host.root / "volumes" / "volext-shared").exists()
    assert json_lines(host.pystack("-f", user, "ps", "-a", "--format", "json").stdout) == []

    host.pystack("-f", owner, "up", "-d")
    host.pystack("-f", user, "up", "-d")
    for _ in range(50):
        out = host.pystack("-f", user, "exec", "-T", "r", "cat", "/data/f", check=False).stdout
        if out == "from-owner\n":
            break
    assert out == "from-owner\n"
    host.pystack("-f", user, "down", "-t", "0", "-v")  # an external volume is not the user's to remove
    assert (host.root / "volumes" / "volext-shared").is_dir()
    host.pystack("-f", owner, "down", "-t", "0", "-v")
