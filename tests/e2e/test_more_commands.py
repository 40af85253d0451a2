"""``create``, ``build``, ``stats``, ``cp`` (and that it stays inside the container), ``port``, ``top``,
``pause``/``unpause``, ``kill -s``."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines


def test_build_create_start_stats_cp_port_top(host: Host, tmp_path: Path) -> None:
    host.write("app/Dockerfile", "FROM busybox:latest\nRUN echo built > /built.txt\nCMD [\"sleep\", \"1000\"]\n")
    f = str(host.write("compose.yaml", """
name: e2emore
services:
  app:
    build: ./app
    mem_limit: 48m
    ports: ["28191:80"]
"""))
    out = host.pystack("-f", f, "build").stderr
    assert "Image e2emore-app  Built" in out
    host.pystack("-f", f, "create")
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert [r["State"] for r in rows] == ["created"]
    host.pystack("-f", f, "start")
    assert json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)[0]["State"] == "running"

    stats = json_lines(host.pystack("-f", f, "stats", "--no-stream", "--format", "json").stdout)
    assert stats[0]["MemUsage"].endswith(" / 48MiB") and int(stats[0]["PIDs"]) >= 1
    assert stats[0]["Name"] == "e2emore-app-1" and len(stats[0]["ID"]) == 12

    dest = tmp_path / "out.txt"
    host.pystack("-f", f, "cp", "app:/built.txt", str(dest))
    assert dest.read_text() == "built\n"
    src = tmp_path / "in.txt"
    src.write_text("from the host\n")
    host.pystack("-f", f, "cp", str(src), "app:/tmp/in.txt")
    assert host.pystack("-f", f, "exec", "-T", "app", "cat", "/tmp/in.txt").stdout == "from the host\n"
    # a symlink inside the container pointing at a host path resolves inside the container's root
    host.pystack("-f", f, "exec", "-T", "app", "ln", "-s", "/etc/hostname", "/tmp/link")
    host.pystack("-f", f, "cp", "app:/tmp/link", str(tmp_path / "linkcopy"))
    assert (tmp_path / "linkcopy").is_symlink()  # copied as a link, never followed to the host's file
    victim = tmp_path / "victim"
    victim.mkdir()
    host.pystack("-f", f, "exec", "-T", "app", "ln", "-s", str(victim), "/tmp/escape")
    host.pystack("-f", f, "cp", str(src), "app:/tmp/escape/planted.txt", check=False)
    assert not (victim / "planted.txt").exists()

    assert host.pystack("-f", f, "port", "app", "80").stdout.strip() == "0.0.0.0:28191"
    top = host.pystack("-f", f, "top").stdout.splitlines()  # as Compose's: ps -ef's columns, host PIDs
    assert top[1].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    sleeper = next(line.split() for line in top if line.endswith("sleep 1000"))
    assert sleeper[0] == "root" and sleeper[5] == "?" and sleeper[6] == "00:00:00"
    assert Path(f"/proc/{sleeper[1]}/cmdline").read_bytes() == b"sleep\x001000\x00"
    assert int(sleeper[2]) > 1  # its parent on the host, not the container's PID 0
    bad = host.pystack("-f", f, "top", "nosuch", check=False)
    assert bad.returncode != 0 and bad.stderr.strip().endswith("no such service: nosuch")

    host.pystack("-f", f, "pause")
    assert json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)[0]["State"] == "paused"
    host.pystack("-f", f, "unpause")
    host.pystack("-f", f, "kill", "-s", "KILL")
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert rows[0]["State"] == "exited" and rows[0]["ExitCode"] == 137


def test_pause_skips_containers_it_cannot_change(host: Host) -> None:
    """A stack whose one-shot service has exited still pauses: Compose pauses the running
    containers only, and unpauses the paused ones."""
    f = str(host.write("compose.yaml", """
name: e2epause
services:
  once:
    image: busybox:latest
    command: ["true"]
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
"""))
    host.pystack("-f", f, "up", "-d", "--wait")

    def states() -> dict[str, str]:
        rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
        return {r["Service"]: r["State"] for r in rows}

    deadline = time.monotonic() + 10  # --wait does not wait for a one-shot service to finish
    while states()["once"] != "exited" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert states() == {"once": "exited", "app": "running"}
    assert "Container e2epause-app-1  Paused" in host.pystack("-f", f, "pause").stderr
    assert states() == {"once": "exited", "app": "paused"}
    host.pystack("-f", f, "pause")  # nothing left to pause: not an error
    assert "Container e2epause-app-1  Unpaused" in host.pystack("-f", f, "unpause").stderr
    assert states() == {"once": "exited", "app": "running"}
    assert "Pause the stack's running containers" in host.pystack("pause", "--help").stdout
    host.pystack("-f", f, "down", "-t", "0")


def test_cp_owner_is_the_destination_s_unless_archive_and_follow_link(host: Host, tmp_path: Path) -> None:
    """As ``docker cp``: a copy belongs to the container's root inside it and to the caller outside,
    ``-a`` keeps the source's uid/gid; ``-L`` copies what a source link points at (in the
    container, resolved inside its root)."""
    import os

    f = str(host.write("compose.yaml", """
name: e2ecpown
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    network_mode: none
"""))
    host.pystack("-f", f, "up", "-d")
    host.pystack("-f", f, "exec", "-T", "app", "sh", "-c",
                 "echo owned > /tmp/o && chown 1234:2345 /tmp/o && echo inside > /marker.txt "
                 "&& ln -s /marker.txt /tmp/l")
    host.pystack("-f", f, "cp", "app:/tmp/o", str(tmp_path / "plain"))
    host.pystack("-f", f, "cp", "-a", "app:/tmp/o", str(tmp_path / "kept"))
    st_plain, st_kept = os.stat(tmp_path / "plain"), os.stat(tmp_path / "kept")
    assert (st_plain.st_uid, st_plain.st_gid) == (os.geteuid(), os.getegid())
    assert (st_kept.st_uid, st_kept.st_gid) == (1234, 2345)

    src = tmp_path / "in.txt"
    src.write_text("in\n")
    os.chown(src, 4321, 5432)
    host.pystack("-f", f, "cp", str(src), "app:/tmp/in-plain")
    host.pystack("-f", f, "cp", "--archive", str(src), "app:/tmp/in-kept")
    owners = host.pystack("-f", f, "exec", "-T", "app", "stat", "-c", "%u:%g", "/tmp/in-plain", "/tmp/in-kept")
    assert owners.stdout.split() == ["0:0", "4321:5432"]

    host.pystack("-f", f, "cp", "-L", "app:/tmp/l", str(tmp_path / "followed"))
    assert not (tmp_path / "followed").is_symlink() and (tmp_path / "followed").read_text() == "inside\n"
    link = tmp_path / "hostlink"
    link.symlink_to(src)
    host.pystack("-f", f, "cp", "-L", str(link), "app:/tmp/")
    res = host.pystack("-f", f, "exec", "-T", "app", "sh", "-c", "test -L /tmp/hostlink || cat /tmp/hostlink")
    assert res.stdout == "in\n"
    host.pystack("-f", f, "down", "-t", "0")


def test_cp_sees_what_the_running_container_sees_and_speaks_tar(host: Host, tmp_path: Path) -> None:
    """A running container's volumes, tmpfs and /etc/hostname are what cp reads and writes (not the
    empty mount points under them), and ``-`` is a tar stream either way, as docker cp's."""
    import io
    import subprocess
    import tarfile

    f = str(host.write("compose.yaml", """
name: e2ecpmounts
services:
  app:
    image: busybox:latest
    command: [sh, -c, "echo in-volume > /data/f; echo in-tmp > /scratch/t; sleep 1000"]
    volumes: [data:/data]
    tmpfs: [/scratch]
  locked:
    image: busybox:latest
    command: [sleep, "1000"]
    read_only: true
volumes:
  data: {}
"""))
    host.pystack("-f", f, "up", "-d")
    host.pystack("-f", f, "exec", "-T", "app", "sh", "-c", "until test -f /scratch/t; do sleep 0.05; done")
    (tmp_path / "x").write_text("x\n")
    refused = host.pystack("-f", f, "cp", str(tmp_path / "x"), "locked:/etc/", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr  # as the container meets it
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    host.pystack("-f", f, "cp", "app:/data/f", str(tmp_path / "f"))
    host.pystack("-f", f, "cp", "app:/scratch/t", str(tmp_path / "t"))
    host.pystack("-f", f, "cp", "app:/etc/hostname", str(tmp_path / "h"))
    hostname = host.pystack("-f", f, "exec", "-T", "app", "hostname").stdout
    assert (tmp_path / "f").read_text() == "in-volume\n" and (tmp_path / "t").read_text() == "in-tmp\n"
    assert (tmp_path / "h").read_text() == hostname
    (tmp_path / "up.txt").write_text("to the volume\n")
    host.pystack("-f", f, "cp", str(tmp_path / "up.txt"), "app:/data/")
    assert host.pystack("-f", f, "exec", "-T", "app", "cat", "/data/up.txt").stdout == "to the volume\n"

    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", "python3", "-m", "orchestrator", "-f", f, "cp"]
    out = subprocess.run([*cmd, "app:/data", "-"], capture_output=True, env=host.env(), cwd=host.workdir,
                         check=True, timeout=60).stdout
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert sorted(tar.getnames()) == ["data", "data/f", "data/up.txt"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("sub/x", b"deep\n"), ("../escape", b"no\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    bad = subprocess.run([*cmd, "-", "app:/scratch"], input=buf.getvalue(), capture_output=True, env=host.env(),
                         cwd=host.workdir, timeout=60)
    assert bad.returncode != 0 and b"not a usable tar archive" in bad.stderr  # "../escape" is refused whole
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("sub/x")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"deep\n"))
    subprocess.run([*cmd, "-", "app:/scratch"], input=buf.getvalue(), capture_output=True, env=host.env(),
                   cwd=host.workdir, check=True, timeout=60)
    assert host.pystack("-f", f, "exec", "-T", "app", "cat", "/scratch/sub/x").stdout == "deep\n"
    assert not (host.workdir.parent / "escape").exists()
    host.pystack("-f", f, "down", "-t", "0", "-v")


def test_cp_of_a_stopped_container_sees_its_volumes_and_binds_as_docker_mounts_them(host: Host, tmp_path: Path) -> None:
    """A stopped container has no mount namespace: cp binds its volumes and bind mounts over its root
    for the copy (as Docker mounts them), read-only where the container has them read-only, and leaves
    no mount behind (the suite's clean-up check compares mounts before and after)."""
    import io
    import subprocess
    import tarfile

    (host.workdir / "shared").mkdir()
    (host.workdir / "shared" / "s").write_text("from the host\n")
    f = str(host.write("compose.yaml", """
name: e2ecpstopped
services:
  app:
    image: busybox:latest
    command: [sh, -c, "echo in-volume > /data/f; sleep 1000"]
    volumes: [data:/data, ./shared:/shared:ro]
  locked:
    image: busybox:latest
    command: [sleep, "1000"]
    read_only: true
volumes:
  data: {}
"""))
    host.pystack("-f", f, "up", "-d")
    host.pystack("-f", f, "exec", "-T", "app", "sh", "-c", "until test -f /data/f; do sleep 0.05; done")
    host.pystack("-f", f, "stop", "-t", "0")
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert sorted(r["State"] for r in rows) == ["exited", "exited"]
    host.pystack("-f", f, "cp", "app:/data/f", str(tmp_path / "f"))
    host.pystack("-f", f, "cp", "app:/shared/s", str(tmp_path / "s"))
    assert (tmp_path / "f").read_text() == "in-volume\n" and (tmp_path / "s").read_text() == "from the host\n"
    (tmp_path / "new").write_text("written while stopped\n")
    host.pystack("-f", f, "cp", str(tmp_path / "new"), "app:/data/")
    for target in ("app:/shared/", "locked:/etc/"):  # a read-only bind, a read-only root: as when running
        refused = host.pystack("-f", f, "cp", str(tmp_path / "new"), target, check=False)
        assert refused.returncode != 0 and "Read-only file system" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert not (host.workdir / "shared" / "new").exists()
    missing = host.pystack("-f", f, "cp", "app:/data/nothing", str(tmp_path / "n"), check=False)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1

    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", "python3", "-m", "orchestrator", "-f", f, "cp"]
    out = subprocess.run([*cmd, "app:/data", "-"], capture_output=True, env=host.env(), cwd=host.workdir,
                         check=True, timeout=60).stdout
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert sorted(tar.getnames()) == ["data", "data/f", "data/new"]
    host.pystack("-f", f, "start", "app")
    assert host.pystack("-f", f, "exec", "-T", "app", "cat", "/data/new").stdout == "written while stopped\n"
    host.pystack("-f", f, "down", "-t", "0", "-v")


def test_stats_as_docker_stats_with_cpu_over_an_interval(host: Host) -> None:
    """docker's columns and units; a busy container's CPU % is measured even with --no-stream; the
    limit of a container without one is the host's memory; -a adds stopped containers."""
    import re

    f = str(host.write("compose.yaml", """
name: e2estats
services:
  busy:
    image: busybox:latest
    command: [sh, -c, "while :; do :; done"]
    mem_limit: 64m
  idle:
    image: busybox:latest
    command: [sleep, "1000"]
  gone:
    image: busybox:latest
    command: ["true"]
"""))
    host.pystack("-f", f, "up", "-d")
    rows = {r["Name"]: r for r in json_lines(host.pystack("-f", f, "stats", "--no-stream", "--format", "json").stdout)}
    assert sorted(rows) == ["e2estats-busy-1", "e2estats-idle-1"]
    busy, idle = rows["e2estats-busy-1"], rows["e2estats-idle-1"]
    assert float(busy["CPUPerc"].rstrip("%")) > 20.0, busy  # a spinning shell, over half a second
    assert re.fullmatch(r"[\d.]+(B|KiB|MiB) / 64MiB", busy["MemUsage"]) and busy["MemPerc"].endswith("%")
    assert re.fullmatch(r"[\d.]+k?B / [\d.]+k?B", busy["NetIO"]) and re.fullmatch(r"\S+ / \S+", busy["BlockIO"])
    assert idle["MemUsage"].endswith("GiB") and float(idle["CPUPerc"].rstrip("%")) < 20.0
    table = host.pystack("-f", f, "stats", "--no-stream", "-a").stdout.splitlines()
    assert re.split(r"\s{2,}", table[0]) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O",
                                    "BLOCK I/O", "PIDS"]
    assert any("e2estats-gone-1" in line for line in table[1:])  # stopped: shown with -a only
    host.pystack("-f", f, "down", "-t", "0")
