"""A busybox root filesystem built offline from Debian's busybox-static, for tests.

No registry and no image store is needed: the directory has ``/bin/busybox``, one symlink per
applet, and minimal ``/etc/passwd``, ``/etc/group``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BUSYBOX = Path("/bin/busybox")


def make_busybox_rootfs(dest: Path) -> Path:
    for d in ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "root", "var/www", "usr/bin", "home"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        link = dest / "bin" / a
        if not link.exists() and a != "busybox":
            link.symlink_to("busybox")
    (dest / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
        "app:x:1000:1000:app:/home:/bin/sh\n"
    )
    (dest / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\napp:x:1000:\n")
    (dest / "var" / "www" / "index.html").write_text("hello from pystack\n")
    return dest
