"""The kernel's side of watch on plain directories: inotify reports what changed, sync mirrors it
into a root without following anything out of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.develop import sync
from orchestrator.develop.inotify import Inotify


def _drain(ino: Inotify) -> set[str]:
    got: set[str] = set()
    while ino.wait(0.2):
        got |= ino.read()
    return got


def test_changes_in_a_tree_and_in_directories_made_later(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with Inotify() as ino:
        ino.watch(str(tmp_path))
        (tmp_path / "a" / "f.txt").write_text("1")
        new = tmp_path / "new"
        new.mkdir()
        (new / "early.txt").write_text("written before its watch may exist")
        got = _drain(ino)
        assert {str(tmp_path / "a" / "f.txt"), str(new), str(new / "early.txt")} <= got
        (new / "later.txt").write_text("2")  # the new directory is watched now
        (tmp_path / "a" / "f.txt").unlink()
        got = _drain(ino)
        assert {str(new / "later.txt"), str(tmp_path / "a" / "f.txt")} <= got


def test_a_moved_directory_is_reported_gone_and_watched_at_its_new_place(tmp_path: Path) -> None:
    (tmp_path / "old" / "sub").mkdir(parents=True)
    with Inotify() as ino:
        ino.watch(str(tmp_path))
        os.rename(tmp_path / "old", tmp_path / "moved")
        got = _drain(ino)
        assert {str(tmp_path / "old"), str(tmp_path / "moved"), str(tmp_path / "moved" / "sub")} <= got
        (tmp_path / "moved" / "sub" / "x").write_text("x")
        assert str(tmp_path / "moved" / "sub" / "x") in _drain(ino)
        assert not any(p.startswith(str(tmp_path / "old")) for p in ino.watched)


def test_pruned_directories_are_not_watched(tmp_path: Path) -> None:
    (tmp_path / "node_modules" / "lib").mkdir(parents=True)
    with Inotify(prune=lambda d: os.path.basename(d) == "node_modules") as ino:
        ino.watch(str(tmp_path))
        assert str(tmp_path / "node_modules") not in ino.watched
        (tmp_path / "node_modules" / "lib" / "x.js").write_text("x")
        assert _drain(ino) == set()


def test_sync_copies_makes_and_deletes_inside_the_root_only(tmp_path: Path) -> None:
    host, root, outside = tmp_path / "host", tmp_path / "root", tmp_path / "outside"
    for d in (host, root, outside):
        d.mkdir()
    (host / "sub").mkdir()
    (host / "sub" / "a.txt").write_text("new content")
    (host / "link").symlink_to("/etc/passwd")
    (root / "app").mkdir()
    (root / "app" / "gone.txt").write_text("old")
    (root / "app" / "escape").symlink_to(str(outside))  # planted by the container: the host's path...
    inside = root / str(outside).lstrip("/")
    inside.mkdir(parents=True)  # ...which, seen from the container's root, is this directory
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        result = sync.apply(fd, {
            "/app/sub": str(host / "sub"), "/app/sub/a.txt": str(host / "sub" / "a.txt"),
            "/app/link": str(host / "link"), "/app/gone.txt": str(host / "gone.txt"),
            "/app/escape/evil.txt": str(host / "sub" / "a.txt"),
        })
    finally:
        os.close(fd)
    assert result.failed == []
    assert (root / "app" / "sub" / "a.txt").read_text() == "new content"
    assert os.readlink(root / "app" / "link") == "/etc/passwd"  # copied as a link, not followed
    assert not (root / "app" / "gone.txt").exists()
    assert list(outside.iterdir()) == []  # the planted link resolved inside the root
    assert (inside / "evil.txt").read_text() == "new content"


def test_sync_leaves_alone_a_directory_that_is_the_source_itself(tmp_path: Path) -> None:
    """A container that binds the watched directory sees the change already; a copy onto itself
    would remove the file first."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("keep me")
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        result = sync.apply(fd, {"/src/a.txt": str(tmp_path / "src" / "a.txt")})
    finally:
        os.close(fd)
    assert result.failed == [] and result.copied == 0
    assert (tmp_path / "src" / "a.txt").read_text() == "keep me"


@pytest.mark.parametrize("name", ["/"])
def test_the_root_itself_is_never_replaced(tmp_path: Path, name: str) -> None:
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        result = sync.apply(fd, {name: str(tmp_path / "missing")})
    finally:
        os.close(fd)
    assert result.failed == ["/: the container's root itself is not replaced"]
