"""Anonymous volumes as Compose keeps them: a recreated container keeps its predecessor's, ``-V``
renews them, ``down`` detaches them and ``down -v``, ``rm -v`` and ``run --rm`` delete them; an
image's ``VOLUME`` gets one too."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Host

STACK = """
name: e2eanon
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "date +%s%N >> /data/boots; sleep 1000"]
    environment: {{GEN: "{gen}"}}
    volumes: ["/data"]
"""


def _boots(host: Host, f: str) -> int:
    return len(host.pystack("-f", f, "exec", "-T", "db", "cat", "/data/boots").stdout.split())


def _volumes(host: Host) -> set[str]:
    vols = host.root / "volumes"
    return {p.name for p in vols.iterdir()} if vols.is_dir() else set()


def test_a_recreated_container_keeps_its_anonymous_volume(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK.format(gen=1)))
    host.pystack("-f", f, "up", "-d", "--wait")
    assert _boots(host, f) == 1
    (vol,) = _volumes(host)

    host.write("compose.yaml", STACK.format(gen=2))  # changed: the container is recreated
    assert "Removing (environment.GEN changed)" in host.pystack("-f", f, "up", "-d", "--wait").stderr
    assert _boots(host, f) == 2  # the new container wrote beside the old one's line
    assert _volumes(host) == {vol}

    host.pystack("-f", f, "up", "-d", "--wait", "--force-recreate", "-V")
    assert _boots(host, f) == 1  # renewed: empty again; the old data is left behind, detached
    assert len(_volumes(host)) == 2

    host.pystack("-f", f, "down", "-t", "0")
    assert len(_volumes(host)) == 2  # down without -v deletes no data...
    host.pystack("-f", f, "up", "-d", "--wait")
    assert _boots(host, f) == 1  # ...but a new stack starts empty, as with Compose
    assert len(_volumes(host)) == 3

    host.pystack("-f", f, "down", "-v", "-t", "0")
    assert _volumes(host) == set()  # attached and left-behind ones alike


def test_rm_v_and_run_rm_delete_anonymous_volumes_and_rm_keeps_them(host: Host) -> None:
    f = str(host.write("compose.yaml", STACK.format(gen=1)))
    host.pystack("-f", f, "run", "--rm", "-T", "db", "sh", "-c", "echo x > /data/y; test -s /data/y")
    assert _volumes(host) == set()

    host.pystack("-f", f, "up", "-d", "--wait")
    host.pystack("-f", f, "rm", "-s", "-f")
    assert len(_volumes(host)) == 1  # detached, not deleted
    host.pystack("-f", f, "up", "-d", "--wait")
    assert _boots(host, f) == 1
    host.pystack("-f", f, "rm", "-s", "-f", "-v")
    assert len(_volumes(host)) == 1  # its own went; the one left before stays for down -v
    host.pystack("-f", f, "down", "-v", "-t", "0")
    assert _volumes(host) == set()


def test_an_image_volume_gets_an_anonymous_volume_filled_from_the_image(host: Host, tmp_path: Path) -> None:
    host.write("app/Dockerfile", "FROM busybox:latest\nRUN mkdir /vol && echo seed > /vol/seed\nVOLUME /vol\n"
                                 "CMD [\"sleep\", \"1000\"]\n")
    host.write("bound/.keep", "")
    f = str(host.write("compose.yaml", """
name: e2eanonimg
services:
  app:
    build: ./app
    environment: {GEN: "1"}
  over:
    build: ./app
    volumes: ["./bound:/vol"]
"""))
    host.pystack("-f", f, "up", "-d", "--wait")
    mounts = host.pystack("-f", f, "exec", "-T", "app", "cat", "/proc/mounts").stdout
    assert any(line.split()[1] == "/vol" for line in mounts.splitlines())  # a volume, not the root's copy
    assert host.pystack("-f", f, "exec", "-T", "app", "cat", "/vol/seed").stdout == "seed\n"
    host.pystack("-f", f, "exec", "-T", "app", "sh", "-c", "echo kept > /vol/mine")
    assert len(_volumes(host)) == 1  # the service that binds /vol gets none
    assert host.pystack("-f", f, "exec", "-T", "over", "ls", "-A", "/vol").stdout.split() == [".keep"]

    host.write("compose.yaml", Path(f).read_text().replace('GEN: "1"', 'GEN: "2"'))
    host.pystack("-f", f, "up", "-d", "--wait")
    assert host.pystack("-f", f, "exec", "-T", "app", "cat", "/vol/mine").stdout == "kept\n"
    host.pystack("-f", f, "down", "-v", "-t", "0")
    assert _volumes(host) == set()
