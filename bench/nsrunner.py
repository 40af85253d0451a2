"""Runs timed commands inside a private mount namespace without the host's cgroup2 mount (for crun).

crun 1.8 refuses this host's hybrid cgroup layout; without ``/sys/fs/cgroup/unified`` it works. The
bench starts this once under ``unshare -m --propagation private`` so that crun's figure pays neither for
unshare nor for the umount: each request is one JSON line ``{"argv": [...]}`` on stdin, each answer one
JSON line ``{"rc", "seconds", "err"}`` on stdout, timed here exactly as the bench times the other tools.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time


def main() -> int:
    res = subprocess.run(["umount", "/sys/fs/cgroup/unified"], capture_output=True, text=True, check=False)
    ready = {"ready": True, "err": res.stderr.strip() if res.returncode else ""}
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        t0 = time.perf_counter()
        try:
            done = subprocess.run(req["argv"], capture_output=True, text=True, check=False,
                                  stdin=subprocess.DEVNULL, timeout=float(req.get("timeout", 60)))
            rc, err = done.returncode, done.stderr
        except (OSError, subprocess.TimeoutExpired) as exc:
            rc, err = 127, str(exc)
        dt = time.perf_counter() - t0
        print(json.dumps({"rc": rc, "seconds": dt, "err": err[-300:]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
