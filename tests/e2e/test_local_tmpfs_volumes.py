"""A named volume of the local driver that is a tmpfs, ``driver_opts: {type: tmpfs, device: tmpfs,
o: size=…}``, as Docker's local driver mounts it.

The tmpfs is mounted over the volume's directory for its first container and shared by every
container that uses it, with the size, mode and owner the options give (a write past the size
fails); it holds its data across a restart, and goes, unmounted, with the last container that
uses it: ``down`` leaves an empty volume, and no mount behind.
"""

from __future__ import annotations

import os

from tests.e2e.conftest import Host


def _mounted(path: str) -> list[str]:
    """The mountinfo lines of mounts at ``path`` in the host's mount namespace."""
    with open("/proc/self/mountinfo") as fh:
        return [line for line in fh if line.split(" ")[4] == path]


def test_a_tmpfs_volume_shared_sized_and_gone_with_its_last_container(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: tmpfsvol
services:
  writer:
    image: busybox:latest
    network_mode: none
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    volumes: ["scratch:/scratch"]
  reader:
    image: busybox:latest
    network_mode: none
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    volumes: ["scratch:/mnt/s:ro"]
volumes:
  scratch:
    driver: local
    driver_opts: {type: tmpfs, device: tmpfs, o: "size=1m,uid=1234,mode=0750"}
"""))
    data = str(host.root / "volumes" / "tmpfsvol_scratch" / "_data")
    host.pystack("-f", f, "up", "-d")
    [line] = _mounted(data)
    assert " - tmpfs " in line and "size=1024k" in line and "nosuid" in line and "nodev" in line
    ls = host.pystack("-f", f, "exec", "-T", "writer", "stat", "-c", "%u %a", "/scratch").stdout
    assert ls.split() == ["1234", "750"]
    host.pystack("-f", f, "exec", "-T", "writer", "sh", "-c", "echo shared > /scratch/note")
    assert host.pystack("-f", f, "exec", "-T", "reader", "cat", "/mnt/s/note").stdout == "shared\n"
    full = host.pystack("-f", f, "exec", "-T", "writer", "dd", "if=/dev/zero", "of=/scratch/big", "bs=64k",
                        "count=32", check=False)
    assert full.returncode != 0 and "No space left on device" in full.stderr  # 2 MiB into a 1 MiB tmpfs
    host.pystack("-f", f, "restart", "writer")
    assert host.pystack("-f", f, "exec", "-T", "writer", "cat", "/scratch/note").stdout == "shared\n"
    host.pystack("-f", f, "rm", "-s", "-f", "reader")
    assert _mounted(data), "still used by writer"
    host.pystack("-f", f, "down", "-t", "0")
    assert _mounted(data) == []
    assert os.listdir(data) == []  # the volume stays, empty, as Docker's does
    host.pystack("-f", f, "up", "-d", "writer")
    res = host.pystack("-f", f, "exec", "-T", "writer", "cat", "/scratch/note", check=False)
    assert res.returncode != 0  # a fresh tmpfs
    host.pystack("-f", f, "down", "-t", "0", "-v")
    assert _mounted(data) == [] and not os.path.exists(data)
