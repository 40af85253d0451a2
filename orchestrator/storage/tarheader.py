"""tarfile's ``TarInfo`` with a faster reading of the common header, for unpacking layers.

Reading a layer, ``tarfile`` spends about a third of its time in ``TarInfo.frombuf``: fifteen
fields sliced and converted one by one, and the checksum computed twice (as unsigned and signed
bytes) by unpacking the block into 512 integers. :class:`FastTarInfo` reads the usual header (a
ustar or GNU magic, octal numbers, an unsigned checksum that matches) with one ``struct`` call and
gives exactly the object ``frombuf`` would. Any header it is not sure of (no magic, a base-256 or
malformed number, a checksum that only the signed sum matches, old GNU sparse entries, anything
raising) goes to ``tarfile``'s own ``frombuf``, which reads it or raises its usual error. Everything
after the header (pax and GNU long names, member data) stays ``tarfile``'s. Its ``frombuf`` is the
same in Python 3.11 to 3.13; ``tests/unit/storage/test_tarheader.py`` compares the two readers
header by header.
"""

from __future__ import annotations

import struct
import tarfile
from typing import Any

_HEADER = struct.Struct("100s8s8s8s12s12s8s1s100s8s32s32s8s8s155s12x")  # the 512-byte block, field by field
_MAGICS = (tarfile.POSIX_MAGIC, tarfile.GNU_MAGIC)
_BASE256 = (0x80, 0xFF)


class _Unsure(Exception):
    """This header is left to tarfile's own reader."""


def _number(field: bytes) -> int:
    if field[0] in _BASE256:
        raise _Unsure
    try:
        return int(field.partition(b"\0")[0].strip() or b"0", 8)
    except ValueError:
        raise _Unsure from None


class FastTarInfo(tarfile.TarInfo):
    """A ``TarInfo`` whose headers are read by :meth:`frombuf` below (see the module's docstring)."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Any:
        try:
            return cls._fast(buf, encoding, errors)
        except (_Unsure, ValueError, IndexError, struct.error):
            return super().frombuf(buf, encoding, errors)

    @classmethod
    def _fast(cls, buf: bytes | bytearray, encoding: str, errors: str) -> FastTarInfo:
        if len(buf) != tarfile.BLOCKSIZE or buf[257:265] not in _MAGICS or buf[156:157] == tarfile.GNUTYPE_SPARSE:
            raise _Unsure
        (name, mode, uid, gid, size, mtime, chksum, kind, linkname, _magic, uname, gname, devmajor, devminor,
         prefix) = _HEADER.unpack(buf)
        checksum = _number(chksum)
        if checksum != 256 + sum(buf) - sum(chksum):  # the unsigned sum, the checksum field counted as spaces
            raise _Unsure
        obj = cls()
        obj.name = name.partition(b"\0")[0].decode(encoding, errors)
        obj.mode = _number(mode)
        obj.uid = _number(uid)
        obj.gid = _number(gid)
        obj.size = _number(size)
        obj.mtime = _number(mtime)
        obj.chksum = checksum
        obj.type = kind
        obj.linkname = linkname.partition(b"\0")[0].decode(encoding, errors)
        obj.uname = uname.partition(b"\0")[0].decode(encoding, errors)
        obj.gname = gname.partition(b"\0")[0].decode(encoding, errors)
        obj.devmajor = _number(devmajor)
        obj.devminor = _number(devminor)
        before = prefix.partition(b"\0")[0].decode(encoding, errors)
        if obj.type == tarfile.AREGTYPE and obj.name.endswith("/"):  # an old V7 directory
            obj.type = tarfile.DIRTYPE
        if obj.isdir():
            obj.name = obj.name.rstrip("/")
        if before and obj.type not in tarfile.GNU_TYPES:  # a ustar name split across prefix and name
            obj.name = before + "/" + obj.name
        return obj
