"""The one busybox image every tool runs: a root directory built offline from busybox-static, and its tar.

Every tool gets the same bytes (``docker import``, ``podman import``, ``pystack image import``) so that
differences in the figures come from the tools, not from the image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
DIRS = ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "root", "var/www", "usr/bin", "home", "data")


def make_rootfs(dest: Path) -> Path:
    """A busybox root with one symlink per applet, a passwd/group and a page for ``httpd`` to serve."""
    if not BUSYBOX.exists():
        raise SystemExit("bench: /bin/busybox is missing (apt-get install busybox-static)")
    for d in DIRS:
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        link = dest / "bin" / applet
        if applet != "busybox" and not link.exists() and not link.is_symlink():
            link.symlink_to("busybox")
    (dest / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")
    (dest / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (dest / "var" / "www" / "index.html").write_text("hello from the benchmark\n")
    return dest


def make_rootfs_tar(rootfs: Path, tar_path: Path) -> Path:
    """A plain (uncompressed) tar of the root, entries relative to ``/``, as ``import`` commands expect."""
    with tarfile.open(tar_path, "w") as tar:
        for entry in sorted(rootfs.iterdir()):
            tar.add(entry, arcname=entry.name)
    return tar_path
