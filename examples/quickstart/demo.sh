#!/usr/bin/env bash
# `make demo`: build the quickstart images offline, bring the stack up, show it working, take it down.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
ps() { "$PY" -m orchestrator "$@"; }
export PYSTACK_ROOT=${PYSTACK_ROOT:-/var/lib/pystack}

echo "== base image (busybox from Debian's busybox-static, no registry needed)"
"$PY" -m orchestrator.images.base_images
trap 'echo "== down"; ps -f compose.yaml down -v -t 2' EXIT
echo "== up --wait"
ps -f compose.yaml up -d --wait --wait-timeout 60
echo "== the page, from the host"
"$PY" - <<'PY'
import time, urllib.request
for url in ("http://127.0.0.1:8088/", "http://127.0.0.1:8088/cgi-bin/api"):
    for _ in range(50):
        try:
            print(url, "->", urllib.request.urlopen(url, timeout=3).read().decode().strip().splitlines()[-1])
            break
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit(f"{url} did not answer")
PY
echo "== ps"
ps -f compose.yaml ps
sleep 2
echo "== logs worker"
ps -f compose.yaml logs --tail 3 worker
