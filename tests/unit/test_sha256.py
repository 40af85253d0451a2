"""The small-input sha256 gives hashlib's digests without loading OpenSSL."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from orchestrator import sha256
from orchestrator.isolated import CODE_ROOT


def test_digests_are_hashlib_s() -> None:
    for data in (b"", b"abc", bytes(range(256)) * 300):
        assert sha256.hexdigest(data) == hashlib.sha256(data).hexdigest()
    h = sha256.new(b"ab")
    h.update(b"c")
    assert h.hexdigest() == hashlib.sha256(b"abc").hexdigest()


def test_hashing_a_name_loads_neither_hashlib_nor_openssl() -> None:
    code = (f"import sys\nsys.path.insert(0, {CODE_ROOT!r})\nfrom orchestrator import sha256\n"
            "sha256.hexdigest(b'name')\n"
            "maps = open('/proc/self/maps').read()\n"
            "print('hashlib' in sys.modules, 'libcrypto' in maps)")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr
