from __future__ import annotations

import io

import pytest

from orchestrator.storage.decompress import sniff
from orchestrator.storage.safepath import UnsafePath, split_member


def test_split_member_normalizes_and_refuses_dotdot() -> None:
    assert split_member("./usr//bin/") == ["usr", "bin"]
    assert split_member("/etc/passwd") == ["etc", "passwd"]
    assert split_member("./") == []
    for bad in ("../x", "a/../../b", "a/.."):
        with pytest.raises(UnsafePath):
            split_member(bad)


def test_sniff_recognizes_magic_and_gives_bytes_back() -> None:
    for data, kind in ((b"\x1f\x8b\x08rest", "gzip"), (b"\x28\xb5\x2f\xfdzz", "zstd"), (b"ustar...", "none"),
                       (b"ab", "none")):
        got, stream = sniff(io.BytesIO(data))
        assert got == kind and stream.read() == data
