#!/usr/bin/env bash
# Installs what pystack and its tests need on a fresh Debian 12 machine, as root.
# Idempotent and quick when everything is present: apt and pip run only for what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(busybox-static tini crun runc skopeo podman docker-registry iproute2 nftables procps psmisc zstd openssl
              apache2-utils graphviz debootstrap openssh-client)
[ "${WITH_PEERS:-0}" = 1 ] && APT_PACKAGES+=(podman podman-compose netavark aardvark-dns catatonit
                                               docker.io docker-compose containerd umoci hyperfine iperf3 wrk)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if ! "$PY" -c 'import orchestrator, pytest, hypothesis, jsonschema, mypy, ruff, pyroute2, dnslib' 2>/dev/null \
   || [ pyproject.toml -nt .deps-stamp ]; then
  echo "installing Python packages"
  "$PY" -m pip install -q --disable-pip-version-check -e '.[dev]'
  touch .deps-stamp
fi

# Byte-compile the package: where PYTHONDONTWRITEBYTECODE is set, Python never caches bytecode
# itself and every command would compile its modules from source again (about 0.3 s of start-up).
"$PY" -m compileall -q -j 0 orchestrator >/dev/null

# Replace pip's `pystack` script with one that starts Python without `site` (its .pth hooks and the
# editable install's finder cost every command tens of milliseconds); see orchestrator/launcher.py.
"$PY" -m orchestrator.launcher >/dev/null
