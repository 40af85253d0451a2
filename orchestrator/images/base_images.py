"""Base images with no internet: ``busybox:latest`` from Debian's busybox-static, FROM scratch.

``python -m orchestrator.images.base_images`` (``make base-images``) writes the root filesystem
straight into a tar (no directory, no root needed), with every entry owned by root and dated
by the busybox binary, so the same busybox always yields the same layer and image digests.
``--debian`` adds a ``debian:bookworm`` base from ``debootstrap --variant=minbase`` (slow,
needs the apt mirror; not used by tests).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.errors import ImageError, PystackError
from orchestrator.images.store import Image, ImageStore
from orchestrator.paths import Paths

BUSYBOX = Path("/bin/busybox")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
          "nobody:x:65534:65534:nobody:/home:/bin/false\n")
GROUP = "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n"
DIRS = {"bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o755, "root": 0o700,
        "sbin": 0o755, "sys": 0o755, "tmp": 0o1777, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
        "var": 0o755, "var/www": 0o755}


def _info(name: str, kind: bytes, mode: int, mtime: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.size, ti.linkname = kind, mode, mtime, size, link
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def busybox_rootfs_tar(out: Path, busybox: Path = BUSYBOX) -> None:
    """Write a FROM-scratch busybox root filesystem as an uncompressed layer tar."""
    if not busybox.is_file():
        raise ImageError(f"{busybox} not found: install Debian's busybox-static")
    mtime = int(busybox.stat().st_mtime)
    listing = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    applets = listing.stdout.split()
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        for d, mode in sorted(DIRS.items()):
            tf.addfile(_info(d + "/", tarfile.DIRTYPE, mode, mtime))
        with open(busybox, "rb") as f:
            tf.addfile(_info("bin/busybox", tarfile.REGTYPE, 0o755, mtime, busybox.stat().st_size), f)
        for a in sorted(set(applets) - {"busybox"}):
            tf.addfile(_info(f"bin/{a}", tarfile.SYMTYPE, 0o777, mtime, link="busybox"))
        for name, text, mode in (("etc/passwd", PASSWD, 0o644), ("etc/group", GROUP, 0o644),
                                 ("etc/hostname", "pystack\n", 0o644)):
            data = text.encode()
            tf.addfile(_info(name, tarfile.REGTYPE, mode, mtime, len(data)), io.BytesIO(data))


def build_busybox(store: ImageStore, ref: str = "busybox:latest") -> Image:
    created = datetime.fromtimestamp(BUSYBOX.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    version = subprocess.run([str(BUSYBOX)], capture_output=True, text=True).stdout.splitlines()[:1]
    config = {
        "created": created,
        "config": {"Env": [PATH_ENV], "Cmd": ["sh"]},
        "history": [{"created": created, "created_by": "pystack base-images: busybox-static FROM scratch",
                     "comment": version[0] if version else "busybox"}],
    }
    store.paths.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store.paths.root, prefix=".base-") as tmp:
        tar = Path(tmp) / "rootfs.tar"
        busybox_rootfs_tar(tar)
        return store.import_rootfs(tar, ref, config=config)


def build_debian(store: ImageStore, ref: str = "debian:bookworm", suite: str = "bookworm",
                 mirror: str | None = None) -> Image:
    """A minimal Debian root from debootstrap, tarred and imported (run as root; slow)."""
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(dir=store.paths.root, prefix=".base-") as tmp:
        root = Path(tmp) / "rootfs"
        cmd = ["debootstrap", "--variant=minbase", suite, str(root)]
        if mirror:
            cmd.append(mirror)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
            raise ImageError(f"debootstrap failed: {tail[0] if tail else proc.returncode}")
        tar = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(tar), "."],
                       check=True)
        return store.import_rootfs(tar, ref, config={"Env": [PATH_ENV], "Cmd": ["bash"]})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m orchestrator.images.base_images", description=__doc__)
    ap.add_argument("--root", default=os.environ.get("PYSTACK_ROOT"), help="pystack state root")
    ap.add_argument("--debian", action="store_true", help="also build debian:bookworm with debootstrap")
    ap.add_argument("--mirror", default=None, help="Debian mirror for debootstrap")
    args = ap.parse_args(argv)
    store = ImageStore(Paths.from_env(args.root))
    try:
        img = build_busybox(store)
        print(f"busybox:latest {img.short_id} ({img.size} bytes)")
        if args.debian:
            img = build_debian(store, mirror=args.mirror)
            print(f"debian:bookworm {img.short_id} ({img.size} bytes)")
    except PystackError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
