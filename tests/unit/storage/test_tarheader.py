"""FastTarInfo reads every header exactly as tarfile's own frombuf does, or hands it to it."""

from __future__ import annotations

import io
import random
import tarfile
from typing import Any

import pytest

from orchestrator.storage.tarheader import FastTarInfo

ENC, ERR = "utf-8", "surrogateescape"


def _read(cls: type[tarfile.TarInfo], buf: bytes) -> Any:
    """Everything a header gives, or the error it raises."""
    try:
        info = cls.frombuf(buf, ENC, ERR)
    except Exception as exc:
        return (type(exc), str(exc))
    return (type(info) is cls, info.get_info(), info.chksum, getattr(info, "_sparse_structs", None))


def _same(buf: bytes) -> None:
    fast, slow = _read(FastTarInfo, buf), _read(tarfile.TarInfo, buf)
    assert fast == slow


def _headers() -> list[bytes]:
    rnd = random.Random(7)
    out = []
    names = ["a", "dir/", "d/e/f.txt", "x" * 99, "long/" * 40 + "name", "ünï/cödé", "bad\udcff", "p" * 150 + "/q",
             "./lead", "trail//"]
    kinds = [tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE,
             tarfile.BLKTYPE, tarfile.FIFOTYPE, tarfile.CONTTYPE, tarfile.GNUTYPE_SPARSE, b"Z"]
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        for name in names:
            for kind in kinds:
                ti = tarfile.TarInfo(name)
                ti.type = kind
                ti.mode = rnd.choice([0o644, 0o7777, 0o4755, 0])
                ti.uid, ti.gid = rnd.choice([(0, 0), (1000, 100), (2**21 - 1, 7), (2**30, 2**25)])
                ti.size = 0 if kind not in (tarfile.REGTYPE, tarfile.AREGTYPE) else rnd.choice([0, 1, 8**11 - 1, 2**40])
                ti.mtime = rnd.choice([0, 1_600_000_000, 8**11 - 1, -5, 2**40])
                ti.linkname = rnd.choice(["", "target", "l" * 120])
                ti.uname, ti.gname = rnd.choice([("", ""), ("root", "wheel"), ("ü" * 10, "g")])
                ti.devmajor, ti.devminor = rnd.choice([(0, 0), (8, 1), (2**21, 3)])
                try:
                    data = ti.tobuf(fmt, ENC, ERR)
                except ValueError:  # not representable in this format
                    continue
                out += [data[i:i + tarfile.BLOCKSIZE] for i in range(0, len(data), tarfile.BLOCKSIZE)]
    return out


HEADERS = _headers()


def test_the_headers_cover_what_the_fast_reader_takes_and_what_it_leaves() -> None:
    taken = sum(1 for h in HEADERS if _fast_took(h))
    assert len(HEADERS) > 500 and 250 < taken < len(HEADERS)


def _fast_took(buf: bytes) -> bool:
    try:
        FastTarInfo._fast(buf, ENC, ERR)
    except Exception:
        return False
    return True


def test_every_written_header_reads_the_same() -> None:
    for buf in HEADERS:
        _same(buf)


def test_damaged_headers_read_or_fail_the_same() -> None:
    rnd = random.Random(11)
    for buf in HEADERS[::7]:
        for _ in range(20):
            damaged = bytearray(buf)
            for _ in range(rnd.randint(1, 4)):
                damaged[rnd.randrange(512)] = rnd.choice([0, 0x20, 0x30, 0x37, 0x38, 0x80, 0xFF, rnd.randrange(256)])
            _same(bytes(damaged))


@pytest.mark.parametrize("buf", [b"", b"\0" * 511, b"\0" * 512, b"ustar" * 200])
def test_short_empty_and_odd_blocks_are_tarfiles_business(buf: bytes) -> None:
    _same(buf[:512] if len(buf) > 512 else buf)


def test_a_whole_archive_reads_the_same_members() -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for i, name in enumerate(["a", "b/" * 60 + "c", "ü", "d/"]):
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.DIRTYPE if name.endswith("/") else tarfile.REGTYPE
            ti.size = 0 if ti.isdir() else i
            ti.pax_headers = {"SCHILY.xattr.user.k": "v"} if i == 2 else {}
            tf.addfile(ti, io.BytesIO(b"x" * i) if ti.isfile() else None)
    members = []
    for cls in (FastTarInfo, tarfile.TarInfo):
        with tarfile.open(fileobj=io.BytesIO(raw.getvalue()), mode="r|", tarinfo=cls) as tf:
            members.append([(m.get_info(), m.pax_headers, tf.extractfile(m).read() if m.isfile() else None)  # type: ignore[union-attr]
                            for m in tf])
    assert members[0] == members[1] and len(members[0]) == 4
