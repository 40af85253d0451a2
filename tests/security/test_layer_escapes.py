"""Hostile layer tars: one per known escape pattern. Nothing may change outside the layer dir.

Each case builds a tar in memory, unpacks it into ``layer/`` beside an ``outside/`` directory
holding a secret, and checks that ``outside/`` is byte-for-byte and link-count unchanged and,
where the tar is refused, that the error is one clear line naming the offending entry.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.errors import ImageError
from orchestrator.storage import safepath
from orchestrator.storage.unpack import unpack_layer
from tests.unit.storage.tarutil import E, make_tar

pytestmark = pytest.mark.root

Case = Callable[[Path], list[E]]


def _snapshot(d: Path) -> dict[str, tuple[int, int, bytes | str]]:
    out: dict[str, tuple[int, int, bytes | str]] = {}
    for p in sorted(d.rglob("*")):
        st = os.lstat(p)
        body: bytes | str = os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file() else b""
        out[str(p.relative_to(d))] = (st.st_mode, st.st_nlink, body)
    return out


def _dotdot(out: Path) -> list[E]:  # CVE-2007-4559
    return [E("../outside/evil", data=b"pwned")]


def _dotdot_nested(out: Path) -> list[E]:
    return [E("a/b/../../../outside/secret", data=b"pwned")]


def _abs_symlink_then_write(out: Path) -> list[E]:
    return [E("etc", "sym", target=str(out)), E("etc/evil", data=b"pwned")]


def _rel_symlink_then_write(out: Path) -> list[E]:
    return [E("up", "sym", target="../outside"), E("up/secret", data=b"pwned")]


def _symlink_swap(out: Path) -> list[E]:
    """CVE-2018-15664, serialized: a directory is replaced by a symlink, then written through."""
    return [E("a", "dir"), E("a/x", data=b"ok"), E("a", "sym", target=str(out)), E("a/evil", data=b"pwned")]


def _symlink_chain_then_mkdir(out: Path) -> list[E]:
    return [E("l1", "sym", target="l2"), E("l2", "sym", target=str(out)), E("l1/newdir", "dir")]


def _hardlink_to_etc_passwd(out: Path) -> list[E]:
    return [E("pw", "link", target="/etc/passwd")]


def _hardlink_dotdot(out: Path) -> list[E]:
    return [E("s", "link", target="../outside/secret")]


def _hardlink_through_symlink(out: Path) -> list[E]:
    return [E("o", "sym", target=str(out)), E("s", "link", target="o/secret")]


def _whiteout_through_symlink(out: Path) -> list[E]:
    return [E("o", "sym", target=str(out)), E("o/.wh.secret")]


def _opaque_through_symlink(out: Path) -> list[E]:
    return [E("o", "sym", target=str(out)), E("o/.wh..wh..opq")]


def _whiteout_dotdot(out: Path) -> list[E]:
    return [E("d", "dir"), E("d/.wh...")]


REFUSED: dict[str, tuple[Case, str]] = {
    "dotdot": (_dotdot, "'..'"),
    "dotdot-nested": (_dotdot_nested, "'..'"),
    "absolute-symlink-then-write": (_abs_symlink_then_write, "symlink 'etc'"),
    "relative-symlink-then-write": (_rel_symlink_then_write, "symlink 'up'"),
    "symlink-swap-CVE-2018-15664": (_symlink_swap, "symlink 'a'"),
    "symlink-chain-then-mkdir": (_symlink_chain_then_mkdir, "symlink 'l1'"),
    "hardlink-to-etc-passwd": (_hardlink_to_etc_passwd, "not in this layer"),
    "hardlink-dotdot": (_hardlink_dotdot, "'..'"),
    "hardlink-through-symlink": (_hardlink_through_symlink, "symlink 'o'"),
    "whiteout-through-symlink": (_whiteout_through_symlink, "symlink 'o'"),
    "opaque-through-symlink": (_opaque_through_symlink, "symlink 'o'"),
    "whiteout-dotdot": (_whiteout_dotdot, "invalid whiteout"),
}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret").write_bytes(b"secret")
    return out


@pytest.mark.parametrize("resolver", ["openat2", "walk"])
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_hostile_tar_is_refused_and_nothing_leaks(
    name: str, resolver: str, tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both resolvers: the kernel's openat2 and the per-component walk used where it is missing."""
    monkeypatch.setattr(safepath, "_have_openat2", resolver == "openat2")
    case, expect = REFUSED[name]
    before, passwd = _snapshot(outside), os.stat("/etc/passwd")
    with pytest.raises(ImageError) as info:
        unpack_layer(io.BytesIO(make_tar(case(outside))), tmp_path / "layer")
    msg = str(info.value)
    assert "\n" not in msg and expect in msg, msg
    assert _snapshot(outside) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layer", "outside"]
    after = os.stat("/etc/passwd")
    assert (after.st_nlink, after.st_mtime_ns) == (passwd.st_nlink, passwd.st_mtime_ns)


def test_absolute_names_land_inside_the_layer(tmp_path: Path, outside: Path) -> None:
    before = _snapshot(outside)
    tar = make_tar([E(str(outside / "secret"), data=b"pwned"), E("/etc/evil", data=b"x")])
    unpack_layer(io.BytesIO(tar), tmp_path / "layer")
    assert _snapshot(outside) == before and not Path("/etc/evil").exists()
    inside = tmp_path / "layer" / str(outside).lstrip("/") / "secret"
    assert inside.read_bytes() == b"pwned"
    assert (tmp_path / "layer/etc/evil").read_bytes() == b"x"


def test_file_over_a_symlink_replaces_the_link_not_its_target(tmp_path: Path, outside: Path) -> None:
    before = _snapshot(outside)
    tar = make_tar([E("s", "sym", target=str(outside / "secret")), E("s", data=b"pwned")])
    unpack_layer(io.BytesIO(tar), tmp_path / "layer")
    assert _snapshot(outside) == before
    assert not (tmp_path / "layer/s").is_symlink() and (tmp_path / "layer/s").read_bytes() == b"pwned"


def test_hardlink_to_a_symlink_links_the_link_itself(tmp_path: Path, outside: Path) -> None:
    before = _snapshot(outside)
    tar = make_tar([E("s", "sym", target=str(outside / "secret")), E("h", "link", target="s")])
    unpack_layer(io.BytesIO(tar), tmp_path / "layer")
    assert _snapshot(outside) == before
    assert os.readlink(tmp_path / "layer/h") == str(outside / "secret")
    assert os.lstat(tmp_path / "layer/h").st_nlink == 2


def test_symlinks_pointing_outside_are_kept_as_data(tmp_path: Path, outside: Path) -> None:
    """A layer may hold any symlink; it is only never followed while unpacking."""
    tar = make_tar([E("etc", "sym", target="/etc"), E("up", "sym", target="../../..")])
    unpack_layer(io.BytesIO(tar), tmp_path / "layer")
    assert os.readlink(tmp_path / "layer/etc") == "/etc"
    assert os.readlink(tmp_path / "layer/up") == "../../.."


# -- random hostile streams -------------------------------------------------------------------------

_NAMES = st.sampled_from(
    [
        "a",
        "b",
        "a/b",
        "a/b/c",
        "b/a",
        "..",
        "../x",
        "a/../../x",
        "/a",
        "/abs/x",
        ".",
        "a/.wh.b",
        "a/.wh..wh..opq",
        ".wh.a",
        "up",
        "up/x",
        "up/../x",
    ]
)
_OUT = "/OUTSIDE/"  # replaced by the real outside directory


def _entry(kind: str, name: str, target: str) -> E:
    if kind == "file":
        return E(name, data=b"pwned")
    if kind == "dir":
        return E(name, "dir")
    if kind == "sym":
        return E(name, "sym", target=target)
    return E(name, "link", target=target)


_ENTRIES = st.lists(
    st.tuples(
        st.sampled_from(["file", "dir", "sym", "link"]),
        _NAMES,
        st.sampled_from(["a", "a/b", "../outside", "../outside/secret", "/", _OUT, _OUT + "secret", "up", "../../.."]),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    derandomize=True, max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=_ENTRIES)
def test_random_streams_never_touch_the_outside(entries: list[tuple[str, str, str]], tmp_path: Path) -> None:
    """Any sequence of these entries either unpacks or fails with ImageError; outside stays intact."""
    work = tmp_path / "w"
    shutil.rmtree(work, ignore_errors=True)
    outside = work / "outside"
    outside.mkdir(parents=True)
    (outside / "secret").write_bytes(b"secret")
    before = _snapshot(outside)
    items = [_entry(k, n, t.replace(_OUT, str(outside) + "/") if t.startswith(_OUT) else t) for k, n, t in entries]
    try:
        unpack_layer(io.BytesIO(make_tar(items)), work / "layer")
    except ImageError as exc:
        assert "\n" not in str(exc)
    assert _snapshot(outside) == before
    assert sorted(p.name for p in work.iterdir()) == ["layer", "outside"]
