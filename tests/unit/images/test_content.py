"""The content store names a blob only after its bytes were verified; nothing half-written shows."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from orchestrator.errors import ImageError
from orchestrator.images.content import ContentStore, sha256_bytes
from orchestrator.paths import Paths


@pytest.fixture
def content(tmp_path: Path) -> ContentStore:
    return ContentStore(Paths(tmp_path))


def test_write_and_read_verified(content: ContentStore) -> None:
    d = content.write_bytes(b"hello")
    assert d == sha256_bytes(b"hello") and content.has(d) and content.read_bytes(d) == b"hello"
    assert content.write_bytes(b"hello", expected=d) == d
    assert list(content.digests()) == [d]
    content.path(d).write_bytes(b"tampered")
    with pytest.raises(ImageError, match="corrupt"):
        content.read_bytes(d)


def test_wrong_digest_or_size_leaves_nothing(content: ContentStore) -> None:
    other = sha256_bytes(b"other")
    with pytest.raises(ImageError, match="does not match its digest"):
        content.ingest(io.BytesIO(b"data"), expected=other)
    with pytest.raises(ImageError, match="larger than the 2 bytes"):
        content.ingest(io.BytesIO(b"data"), expected_size=2)
    with pytest.raises(ImageError, match="has 4 bytes, expected 10"):
        content.ingest(io.BytesIO(b"data"), expected_size=10)
    assert list(content.digests()) == []
    assert list(content.ingest_dir.iterdir()) == []


def test_ingest_counts_and_reports(content: ContentStore) -> None:
    seen: list[int] = []
    data = b"x" * (3 << 20)
    d, n = content.ingest(io.BytesIO(data), expected=sha256_bytes(data), expected_size=len(data),
                          on_bytes=seen.append)
    assert n == len(data) and sum(seen) == len(data) and content.size(d) == len(data)
    assert content.delete(d) and not content.delete(d)


def test_bad_digest_names(content: ContentStore) -> None:
    for bad in ("md5:abc", "sha256:../../etc/passwd", "sha256:" + "A" * 64):
        with pytest.raises(ImageError, match="unsupported digest"):
            content.path(bad)
    with pytest.raises(ImageError, match="missing from the content store"):
        content.read_bytes("sha256:" + "0" * 64)
