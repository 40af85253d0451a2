"""OCI mount options → mount(2) flags, propagation and filesystem data (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.runtime import kernel as k

_SET = {
    "ro": k.MS_RDONLY, "nosuid": k.MS_NOSUID, "nodev": k.MS_NODEV, "noexec": k.MS_NOEXEC,
    "sync": k.MS_SYNCHRONOUS, "dirsync": k.MS_DIRSYNC, "mand": k.MS_MANDLOCK, "noatime": k.MS_NOATIME,
    "nodiratime": k.MS_NODIRATIME, "relatime": k.MS_RELATIME, "strictatime": k.MS_STRICTATIME,
    "lazytime": k.MS_LAZYTIME, "nosymfollow": k.MS_NOSYMFOLLOW, "silent": k.MS_SILENT,
}
_CLEAR = {
    "rw": k.MS_RDONLY, "suid": k.MS_NOSUID, "dev": k.MS_NODEV, "exec": k.MS_NOEXEC, "async": k.MS_SYNCHRONOUS,
    "nomand": k.MS_MANDLOCK, "atime": k.MS_NOATIME, "diratime": k.MS_NODIRATIME, "norelatime": k.MS_RELATIME,
    "nostrictatime": k.MS_STRICTATIME, "nolazytime": k.MS_LAZYTIME, "symfollow": k.MS_NOSYMFOLLOW,
    "loud": k.MS_SILENT,
}
_PROPAGATION = {
    "private": k.MS_PRIVATE, "rprivate": k.MS_PRIVATE | k.MS_REC,
    "shared": k.MS_SHARED, "rshared": k.MS_SHARED | k.MS_REC,
    "slave": k.MS_SLAVE, "rslave": k.MS_SLAVE | k.MS_REC,
    "unbindable": k.MS_UNBINDABLE, "runbindable": k.MS_UNBINDABLE | k.MS_REC,
}
# options meaningful to runtimes but not to the kernel
_IGNORED = {"defaults", "newinstance_ignored", "tmpcopyup", "notmpcopyup", "idmap", "ridmap", "copy-symlink"}


@dataclass
class MountOptions:
    """An OCI mount's ``options`` sorted into what each mount(2) call takes: flags, propagation, data."""
    flags: int = 0
    bind: bool = False
    recursive: bool = False
    propagation: list[int] = field(default_factory=list)
    data: list[str] = field(default_factory=list)

    @property
    def data_str(self) -> str | None:
        return ",".join(self.data) if self.data else None


def parse(options: list[str] | None, mount_type: str | None = None) -> MountOptions:
    out = MountOptions()
    for opt in options or []:
        if opt in ("bind", "rbind"):
            out.bind = True
            out.recursive = out.recursive or opt == "rbind"
        elif opt in _SET:
            out.flags |= _SET[opt]
        elif opt in _CLEAR:
            out.flags &= ~_CLEAR[opt]
        elif opt in _PROPAGATION:
            out.propagation.append(_PROPAGATION[opt])
        elif opt in _IGNORED:
            continue
        else:
            out.data.append(opt)
    if mount_type == "bind":
        out.bind = True
    return out
