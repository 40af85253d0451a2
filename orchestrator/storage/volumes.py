"""Named volumes, bind sources and tmpfs options, prepared on the host for the runtime to mount.

A named volume is ``Paths.volumes/<name>/_data`` (Docker's layout) with its labels beside it in
``meta.json``. On first use an empty volume receives the image's content at the mount target,
as Docker does; the target is resolved inside the image root the way the container will see it
(``openat2(RESOLVE_IN_ROOT)``: absolute symlinks stay inside the image), and copied fd-to-fd.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from orchestrator.errors import PystackError, RuntimeFailure
from orchestrator.paths import Paths
from orchestrator.storage.safepath import open_in_root

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]+$")
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class VolumeError(PystackError):
    """A volume name, bind source or tmpfs option is not usable."""


def _volume_root(paths: Paths, name: str) -> Path:
    if not _NAME.match(name):
        raise VolumeError(f"invalid volume name {name!r}: use letters, digits, '_', '.', '-' "
                          "(at least 2 characters, starting with a letter or digit)")
    return paths.volumes / name


def ensure_volume(paths: Paths, name: str, *, labels: Mapping[str, str] | None = None) -> Path:
    """Create the volume if missing and return its ``_data`` dir; labels are set on creation only."""
    root = _volume_root(paths, name)
    data = root / "_data"
    if data.is_dir():
        return data
    root.mkdir(parents=True, exist_ok=True, mode=0o701)
    meta = root / "meta.json"
    tmp = root / "meta.json.tmp"
    tmp.write_text(json.dumps({"name": name, "labels": dict(labels or {})}, sort_keys=True))
    os.replace(tmp, meta)
    data.mkdir(mode=0o755, exist_ok=True)
    return data


def volume_exists(paths: Paths, name: str) -> bool:
    return (_volume_root(paths, name) / "_data").is_dir()


def volume_labels(paths: Paths, name: str) -> dict[str, str]:
    try:
        meta = json.loads((_volume_root(paths, name) / "meta.json").read_text())
    except FileNotFoundError:
        return {}
    labels = meta.get("labels", {})
    return {str(k): str(v) for k, v in labels.items()}


def list_volumes(paths: Paths) -> list[str]:
    if not paths.volumes.is_dir():
        return []
    return sorted(p.name for p in paths.volumes.iterdir() if (p / "_data").is_dir())


def remove_volume(paths: Paths, name: str) -> None:
    """Delete the volume and its data; a volume that does not exist is already removed. A tmpfs
    still mounted over it (its containers are gone, or it would not be removed) goes first."""
    root = _volume_root(paths, name)
    if root.is_symlink() or not root.exists():
        with contextlib.suppress(FileNotFoundError):
            root.unlink()
        return
    with _locked(root):
        _unmount_tmpfs(root / "_data")
    import shutil  # here, not at the top: most commands that import this module remove nothing

    shutil.rmtree(root)


# A local volume of ``type: tmpfs`` (spec.volume_driver) is a tmpfs mounted over its ``_data``
# while containers use it, as Docker's local driver mounts it for its first container and unmounts
# it after its last: the data lives as long as some container of any stack keeps the volume.
# Each container that uses it has a file named for its id in ``users/``; taking one in and
# letting one go happen under the volume's lock, so a container made while the last one is
# removed never binds the directory underneath.


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(root / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _unmount_tmpfs(data: Path) -> None:
    from orchestrator.storage.mounts import is_mountpoint, umount

    if is_mountpoint(data):
        umount(data, lazy=True)  # a container being torn down may still hold it: it goes with that


def use_tmpfs(paths: Paths, name: str, options: Iterable[str], user: str) -> Path:
    """The volume's ``_data`` with its tmpfs mounted (now, if it was not); ``user`` (a container id)
    is counted as using it until :func:`leave_tmpfs`."""
    from orchestrator.runtime import mountopts  # the options were checked where the file was read
    from orchestrator.storage.mounts import is_mountpoint, mount

    data = ensure_volume(paths, name)
    root = data.parent
    parsed = mountopts.parse(list(options), "tmpfs")
    with _locked(root):
        users = root / "users"
        users.mkdir(mode=0o700, exist_ok=True)
        (users / user).touch()
        if not is_mountpoint(data):
            mount("tmpfs", data, "tmpfs", parsed.flags, parsed.data_str or "")
    return data


def leave_tmpfs(paths: Paths, name: str, user: str) -> None:
    """``user`` no longer uses the volume; the last one to leave unmounts the tmpfs (its data goes)."""
    root = _volume_root(paths, name)
    if not (root / "_data").is_dir():
        return
    with _locked(root):
        users = root / "users"
        with contextlib.suppress(FileNotFoundError):
            (users / user).unlink()
        with contextlib.suppress(FileNotFoundError):
            if any(users.iterdir()):
                return
        _unmount_tmpfs(root / "_data")


def release_volume(paths: Paths, name: str) -> str | None:
    """Give the volume a fresh random name, data and labels kept; returns it (None if there was none).

    Anonymous volumes are named for the replica and path that use them, so that a recreated
    container finds its predecessor's data. One whose container is removed for good is renamed
    out of that place: the next container made there starts empty, as with Compose, and the old
    data stays until ``down -v`` removes the stack's anonymous volumes.
    """
    root = _volume_root(paths, name)
    if root.is_symlink() or not (root / "_data").is_dir():
        return None
    fresh = os.urandom(32).hex()
    os.rename(root, _volume_root(paths, fresh))
    meta = paths.volumes / fresh / "meta.json"
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(meta.read_text())
        data["name"] = fresh
        tmp = meta.with_name("meta.json.tmp")
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, meta)
    return fresh


def populate_from_image(volume_dir: Path, image_root: Path, target: str) -> None:
    """Copy the image's content at ``target`` into ``volume_dir`` if the volume is still empty.

    Nothing happens when the volume already holds anything, or when the image has nothing (or
    no directory) at ``target``. Ownership and mode of the target directory carry over too.
    """
    vfd = os.open(volume_dir, _DIR | os.O_NOFOLLOW)
    try:
        with os.scandir(vfd) as it:
            if any(True for _ in it):
                return
        rfd = os.open(image_root, _DIR)
        try:
            try:
                sfd = open_in_root(rfd, target)
            except (FileNotFoundError, NotADirectoryError):
                return
            except OSError as exc:
                msg = f"cannot read {target} in the image to fill the volume: {exc.strerror}"
                raise RuntimeFailure(msg) from None
        finally:
            os.close(rfd)
        from orchestrator.storage.fscopy import CopyOptions, copy_contents, copy_xattrs  # only to fill one

        try:
            copy_contents(sfd, vfd, CopyOptions())
            st = os.fstat(sfd)
            if os.geteuid() == 0:
                os.fchown(vfd, st.st_uid, st.st_gid)
            os.fchmod(vfd, stat.S_IMODE(st.st_mode))
            copy_xattrs(sfd, vfd)
        finally:
            os.close(sfd)
    finally:
        os.close(vfd)


def prepare_bind(source: Path, *, create_host_path: bool) -> Path:
    """Return the real host path of a bind source, creating it as a directory when asked."""
    if not source.is_absolute():
        raise VolumeError(f"bind source {source} must be an absolute path")
    if not os.path.lexists(source):
        if not create_host_path:
            raise VolumeError(f"bind source path does not exist: {source}")
        try:
            source.mkdir(parents=True, mode=0o755)
        except OSError as exc:
            raise VolumeError(f"cannot create bind source {source}: {exc.strerror}") from None
    real = Path(os.path.realpath(source))
    if not real.exists():
        raise VolumeError(f"bind source {source} is a dangling symlink")
    return real


def tmpfs_options(size: int | None = None, mode: int | None = None) -> list[str]:
    """Mount options for a tmpfs in the OCI ``mounts`` list (Docker's defaults: nosuid, nodev)."""
    opts = ["nosuid", "nodev"]
    if size is not None:
        if size <= 0:
            raise VolumeError(f"tmpfs size must be positive, got {size}")
        opts.append(f"size={size}")
    if mode is not None:
        if not 0 <= mode <= 0o7777:
            raise VolumeError(f"tmpfs mode {mode:o} is not a permission mode")
        opts.append(f"mode={mode:o}")
    return opts
