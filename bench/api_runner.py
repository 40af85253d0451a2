"""pystack's runtime through its Python API (what the orchestrator itself calls), timed per run.

Started once by the bench (the import cost is paid once, as in a long-lived supervisor); each request
``{"argv": [..., "--bundle", DIR, ID]}`` is create + start + wait + delete of that bundle, answered like
nsrunner.py: ``{"rc", "seconds", "err"}``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path


def main() -> int:
    root = Path(sys.argv[1])
    try:
        from orchestrator.paths import Paths
        from orchestrator.runtime.api import get_runtime

        paths = Paths(root)
        paths.ensure()
        rt = get_runtime(None, paths)
    except Exception as exc:
        print(json.dumps({"ready": False, "err": f"{exc.__class__.__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        argv = json.loads(line)["argv"]
        bundle, cid = Path(argv[argv.index("--bundle") + 1]), argv[-1]
        t0 = time.perf_counter()
        rc, err = 0, ""
        try:
            rt.create(cid, bundle)
            rt.start(cid)
            status = rt.wait(cid, 30)
            rc = status.code if status is not None else 124
            rt.delete(cid, force=True)
        except Exception as exc:
            rc, err = 1, f"{exc.__class__.__name__}: {exc}"
            with contextlib.suppress(Exception):
                rt.delete(cid, force=True)
        dt = time.perf_counter() - t0
        print(json.dumps({"rc": int(rc or 0), "seconds": dt, "err": err[-300:]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
