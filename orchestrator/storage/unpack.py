"""Unpack one OCI layer tar into a directory, safely, with overlayfs whiteouts.

``tarfile`` is used only to read headers and member data; every write is ours, relative to an
open fd of the layer directory (see :mod:`orchestrator.storage.safepath`). That way ``..``,
absolute names, symlinked parents, hard links to outside and a symlink that replaces a directory
mid-stream (CVE-2018-15664's swap) all end in an :class:`ImageError` and nothing written outside.
OCI whiteouts become what overlayfs understands: ``.wh.NAME`` → character device 0/0 named NAME,
``.wh..wh..opq`` → ``trusted.overlay.opaque=y`` on its directory.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, TypeVar

from orchestrator.errors import ImageError
from orchestrator.storage.decompress import HashingReader, open_decompressed
from orchestrator.storage.safepath import UnsafePath, open_dir_beneath, split_member
from orchestrator.storage.tarheader import FastTarInfo

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_XATTR_PAX = "SCHILY.xattr."
_CHUNK = 1 << 20

Compression = Literal["gzip", "zstd", "none", "auto"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class UnpackStats:
    """What an unpack applied, with the diff id that checks it against the image's config."""
    diff_id: str  # "sha256:<hex>" of the uncompressed tar stream
    size: int  # bytes of the uncompressed tar stream
    files: int  # tar entries applied (whiteouts included)


def unpack_layer(stream: BinaryIO, dest: Path, *, compression: Compression = "auto") -> UnpackStats:
    """Unpack ``stream`` into ``dest`` (created if missing); the caller removes ``dest`` on error.

    The whole stream is read, tar padding included, so ``diff_id`` is the digest of exactly the
    bytes a registry's config lists.
    """
    dest.mkdir(parents=True, exist_ok=True)
    root_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    raw, closer = open_decompressed(stream, compression)
    reader = HashingReader(raw, hashlib.sha256())
    try:
        try:
            files = _Extractor(root_fd).run(reader)
            while reader.read(_CHUNK):
                pass
        finally:
            os.close(root_fd)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        closer()  # a failed decompressor explains a corrupt tar better than tarfile does
        raise ImageError(f"cannot unpack layer: corrupt or truncated tar ({exc})") from None
    except BaseException as exc:
        with contextlib.suppress(ImageError):
            closer()  # we stopped reading early: the decompressor's complaint is not the news
        if isinstance(exc, OSError):
            raise ImageError(f"cannot unpack layer into {dest}: {exc.strerror or exc}") from None
        raise
    closer()
    return UnpackStats(diff_id="sha256:" + reader.hash.hexdigest(), size=reader.size, files=files)


class _Extractor:
    def __init__(self, root_fd: int) -> None:
        self.root_fd = root_fd
        self.is_root = os.geteuid() == 0
        self.dir_times: dict[tuple[str, ...], int] = {}
        self._parent: tuple[tuple[str, ...], int] | None = None  # last parent dir: entries come grouped

    def _parent_fd(self, parts: list[str], name: str) -> int:
        """The fd of an entry's parent, reusing the previous one (closed by ``_forget_parent``)."""
        key = tuple(parts)
        if self._parent is not None and self._parent[0] == key:
            return self._parent[1]
        self._forget_parent()
        fd = open_dir_beneath(self.root_fd, parts, what=f"layer entry {name!r}")
        self._parent = (key, fd)
        return fd

    def _forget_parent(self) -> None:
        """Called whenever a directory is removed: the cached fd could name a deleted directory."""
        if self._parent is not None:
            os.close(self._parent[1])
            self._parent = None

    def run(self, reader: HashingReader) -> int:
        count = 0
        try:
            with tarfile.open(fileobj=reader, mode="r|", errorlevel=2, bufsize=1 << 16, tarinfo=FastTarInfo) as tf:
                for member in tf:
                    self._entry(tf, member)
                    count += 1
        finally:
            self._forget_parent()
        self._apply_dir_times()
        return count

    def _entry(self, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        parts = split_member(m.name)
        if not parts:  # "./": the layer root itself
            if m.isdir():
                self._meta_fd(self.root_fd, m)
                self.dir_times[()] = int(m.mtime)
            return
        base = parts[-1]
        pfd = self._parent_fd(parts[:-1], m.name)
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(pfd, base, m.name)
            return
        # Each node is made first and what stood in its way cleared only when the kernel says so
        # (EEXIST): in a layer most names are new, and a stat before each one was a syscall per entry.
        if m.isdir():
            self._dir(pfd, base, m, tuple(parts))
        elif m.isreg():
            self._file(pfd, base, tf, m)
        elif m.issym():
            self._make(pfd, base, lambda: os.symlink(m.linkname, base, dir_fd=pfd))
            self._meta_path(pfd, base, m, symlink=True)
        elif m.islnk():
            self._hardlink(pfd, base, m)
        elif m.ischr() or m.isblk() or m.isfifo():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
            self._make(pfd, base, lambda: os.mknod(base, kind | 0o600, os.makedev(m.devmajor, m.devminor),
                                                   dir_fd=pfd))
            self._meta_path(pfd, base, m, symlink=False)
        else:
            raise ImageError(f"layer entry {m.name!r} has unsupported tar type {m.type!r}")

    def _make(self, pfd: int, base: str, make: Callable[[], _T]) -> _T:
        """``make()`` the entry's node; when the name is taken, the earlier entry goes and it is made again."""
        try:
            return make()
        except FileExistsError:
            self._clear(pfd, base, keep_dir=False)
            return make()

    def _whiteout(self, pfd: int, base: str, name: str) -> None:
        if base == OPAQUE_MARKER:
            os.setxattr(pfd, OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
            return  # aufs-internal metadata (.wh..wh.plnk, .wh..wh.aufs): meaningless to overlayfs
        target = base[len(WHITEOUT_PREFIX):]
        if target in ("", ".", ".."):
            raise UnsafePath(f"layer entry {name!r} is an invalid whiteout")
        self._clear(pfd, target, keep_dir=False)
        os.mknod(target, stat.S_IFCHR, os.makedev(0, 0), dir_fd=pfd)

    def _clear(self, pfd: int, base: str, *, keep_dir: bool) -> None:
        """Make room for a new entry: a later entry replaces an earlier one, except dir over dir."""
        try:
            st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            if not keep_dir:
                shutil.rmtree(base, dir_fd=pfd)
                self._forget_parent_below(pfd)
        else:
            os.unlink(base, dir_fd=pfd)

    def _forget_parent_below(self, pfd: int) -> None:
        """A directory under ``pfd`` went away; keep ``pfd`` itself if it is the cached one."""
        if self._parent is not None and self._parent[1] != pfd:
            self._forget_parent()

    def _dir(self, pfd: int, base: str, m: tarfile.TarInfo, key: tuple[str, ...]) -> None:
        try:
            os.mkdir(base, 0o700, dir_fd=pfd)
        except FileExistsError:
            self._clear(pfd, base, keep_dir=True)  # a directory stays, with what it holds; anything else goes
            with contextlib.suppress(FileExistsError):
                os.mkdir(base, 0o700, dir_fd=pfd)
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        try:
            self._meta_fd(fd, m)
        except BaseException:
            os.close(fd)
            raise
        self.dir_times[key] = int(m.mtime)
        self._forget_parent()  # its children usually follow: keep the new directory as the parent
        self._parent = (key, fd)

    def _file(self, pfd: int, base: str, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        fd = self._make(pfd, base, lambda: os.open(
            base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=pfd))
        try:
            src = tf.extractfile(m)
            if src is not None:
                while chunk := src.read(_CHUNK):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
            self._meta_fd(fd, m)
            os.utime(fd, ns=(int(m.mtime) * 10**9, int(m.mtime) * 10**9))
        finally:
            os.close(fd)

    def _hardlink(self, pfd: int, base: str, m: tarfile.TarInfo) -> None:
        what = f"hard link {m.name!r} -> {m.linkname!r}"
        target = split_member(m.linkname)
        if not target:
            raise UnsafePath(f"{what} points at the layer root")
        try:
            lfd = open_dir_beneath(self.root_fd, target[:-1], create=False, what=what)
        except FileNotFoundError:
            raise UnsafePath(f"{what}: the target is not in this layer") from None
        try:
            try:
                st = os.stat(target[-1], dir_fd=lfd, follow_symlinks=False)
            except FileNotFoundError:
                raise UnsafePath(f"{what}: the target is not in this layer") from None
            if stat.S_ISDIR(st.st_mode):
                raise UnsafePath(f"{what}: the target is a directory")
            try:
                self._make(pfd, base, lambda: os.link(target[-1], base, src_dir_fd=lfd, dst_dir_fd=pfd,
                                                      follow_symlinks=False))
            except FileNotFoundError:  # the name it replaced was its own target
                raise UnsafePath(f"{what}: the target is not in this layer") from None
        finally:
            os.close(lfd)

    def _xattrs(self, m: tarfile.TarInfo) -> list[tuple[str, bytes]]:
        out = []
        for key, value in m.pax_headers.items():
            if key.startswith(_XATTR_PAX):
                name = key[len(_XATTR_PAX):]
                if name.startswith("trusted.overlay."):
                    continue  # only we decide what overlayfs sees (opaque, redirects, metacopy)
                out.append((name, value.encode("utf-8", "surrogateescape")))
        return out

    def _meta_fd(self, fd: int, m: tarfile.TarInfo) -> None:
        if self.is_root:
            os.fchown(fd, m.uid, m.gid)
        os.fchmod(fd, m.mode & 0o7777)
        for name, value in self._xattrs(m):
            _setxattr(lambda n, v: os.setxattr(fd, n, v), name, value, m.name)

    def _meta_path(self, pfd: int, base: str, m: tarfile.TarInfo, *, symlink: bool) -> None:
        if self.is_root:
            os.chown(base, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
        if not symlink:  # the node was made by us just now; there is no link to follow
            os.chmod(base, m.mode & 0o7777, dir_fd=pfd)
        proc = f"/proc/self/fd/{pfd}/{base}"
        for name, value in self._xattrs(m):
            _setxattr(lambda n, v: os.setxattr(proc, n, v, follow_symlinks=False), name, value, m.name)
        ns = int(m.mtime) * 10**9
        os.utime(base, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)

    def _apply_dir_times(self) -> None:
        """Directory mtimes last: writing children would change them again."""
        for key in sorted(self.dir_times, key=len, reverse=True):
            ns = self.dir_times[key] * 10**9
            if not key:
                os.utime(self.root_fd, ns=(ns, ns))
                continue
            try:
                pfd = open_dir_beneath(self.root_fd, list(key[:-1]), create=False)
            except (OSError, ImageError):
                continue  # replaced later in the stream; its new self has its own time
            try:
                os.utime(key[-1], ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                pass
            finally:
                os.close(pfd)


def _setxattr(setter: object, name: str, value: bytes, entry: str) -> None:
    assert callable(setter)
    try:
        setter(name, value)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EPERM):
            return  # e.g. security.* without privilege, or a filesystem without user xattrs
        raise ImageError(f"layer entry {entry!r}: cannot set xattr {name}: {exc.strerror}") from None
