"""Secrets and configs: where they go, what stands for their content in the hash, the files pystack
writes for them, what the loader refuses, and that a changed definition names the recreate."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.errors import PystackError, SpecErrors
from orchestrator.plan.diff import changed_paths, summarize
from orchestrator.reconcile import secrets, translate
from orchestrator.reconcile.desired import FilePlan
from orchestrator.spec.models import Stack
from orchestrator.spec.project import LoadOptions
from orchestrator.spec.stack import load_stack


def _stack(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Stack:
    (tmp_path / "compose.yaml").write_text(text)
    return load_stack(LoadOptions(files=[str(tmp_path / "compose.yaml")], environ=environ or {}))


def test_targets_as_compose_puts_them() -> None:
    assert secrets.secret_target("db", None) == "/run/secrets/db"
    assert secrets.secret_target("db", "") == "/run/secrets/db"
    assert secrets.secret_target("db", "sub/pw") == "/run/secrets/sub/pw"
    assert secrets.secret_target("db", "/etc/pw") == "/etc/pw"
    assert secrets.config_target("conf", None) == "/conf"
    assert secrets.config_target("conf", "etc/app.conf") == "/etc/app.conf"
    assert secrets.config_target("conf", "/etc/app.conf") == "/etc/app.conf"
    assert [secrets.numeric_id(v) for v in (None, "", "0", "1000", 7)] == [None, None, 0, 1000, 7]


def test_digest_follows_the_content_not_the_path(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("same")
    b.write_text("same")
    d = secrets.digest("secret", "s", file=str(a))
    assert len(d) == 16 and d == secrets.digest("secret", "s", file=str(b))
    assert d == secrets.digest("secret", "s", content="same")
    assert d != secrets.digest("config", "s", content="same")  # keyed by kind and name
    assert d != secrets.digest("secret", "t", content="same")
    b.write_text("other")
    assert secrets.digest("secret", "s", file=str(b)) != d
    assert secrets.digest("secret", "s", file=str(tmp_path / "nope")) == "missing"
    assert secrets.digest("secret", "s") == "unset"  # an environment variable that is not set
    os.mkfifo(tmp_path / "fifo")
    assert secrets.digest("secret", "s", file=str(tmp_path / "fifo")).startswith("unreadable")


def test_digest_of_a_directory_covers_names_content_and_modes(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f").write_text("x")
    first = secrets.digest("config", "c", file=str(tree))
    (tree / "sub" / "f").write_text("y")
    second = secrets.digest("config", "c", file=str(tree))
    os.chmod(tree / "sub" / "f", 0o600)
    third = secrets.digest("config", "c", file=str(tree))
    (tree / "sub" / "f").rename(tree / "sub" / "g")
    assert len({first, second, third, secrets.digest("config", "c", file=str(tree))}) == 4


def test_written_files_have_content_owner_and_mode(tmp_path: Path) -> None:
    src = tmp_path / "pw.txt"
    src.write_text("s3cret\n")
    os.chmod(src, 0o600)
    me, grp = os.geteuid(), os.getegid()
    files = [
        FilePlan("secret", "pw", "/run/secrets/pw", file=str(src)),
        FilePlan("secret", "tok", "/run/secrets/tok", environment="TOKEN", content="t0k", uid=me, gid=grp,
                 mode=0o400),
        FilePlan("config", "../odd/name", "/conf", content="", mode=0o555),
    ]
    base = tmp_path / "cdir" / "files"
    base.parent.mkdir()
    mounts = secrets.write_files(files, base)
    assert stat.S_IMODE(os.stat(base).st_mode) == 0o700
    assert [m["destination"] for m in mounts] == ["/run/secrets/pw", "/run/secrets/tok", "/conf"]
    assert all(m["type"] == "bind" and m["options"] == ["bind", "ro", "nosuid", "nodev"] for m in mounts)
    paths = [Path(m["source"]) for m in mounts]
    assert all(p.parent == base for p in paths)  # a name never leads out of the directory
    assert paths[2].name == "2-config-.._odd_name"
    assert [p.read_text() for p in paths] == ["s3cret\n", "t0k", ""]
    assert [stat.S_IMODE(os.stat(p).st_mode) for p in paths] == [0o444, 0o400, 0o555]
    assert (os.stat(paths[1]).st_uid, os.stat(paths[1]).st_gid) == (me, grp)
    if me == 0:
        assert (os.stat(paths[0]).st_uid, os.stat(paths[0]).st_gid) == (0, 0)
    assert os.stat(paths[0]).st_ino != os.stat(src).st_ino and stat.S_IMODE(os.stat(src).st_mode) == 0o600


def test_a_directory_source_is_copied_as_a_tree(tmp_path: Path) -> None:
    tree = tmp_path / "conf.d"
    tree.mkdir()
    (tree / "a.conf").write_text("a")
    (tree / "link").symlink_to("/etc/passwd")  # kept a link: it resolves in the container
    [mount] = secrets.write_files([FilePlan("config", "confd", "/etc/conf.d", file=str(tree))], tmp_path / "files")
    copy = Path(mount["source"])
    assert (copy / "a.conf").read_text() == "a" and os.readlink(copy / "link") == "/etc/passwd"


@pytest.mark.parametrize(("plan", "message"), [
    (FilePlan("secret", "db", "/run/secrets/db", file="/nonexistent/pw"),
     "secret 'db': file /nonexistent/pw does not exist"),
    (FilePlan("secret", "tok", "/run/secrets/tok", environment="API_TOKEN"),
     "secret 'tok': environment variable API_TOKEN is not set"),
    (FilePlan("config", "dev", "/dev-null", file="/dev/null"),
     "config 'dev': /dev/null is not a regular file or a directory"),
])
def test_a_source_that_cannot_be_read_is_named(tmp_path: Path, plan: FilePlan, message: str) -> None:
    with pytest.raises(PystackError) as info:
        secrets.write_files([plan], tmp_path / "files")
    assert str(info.value) == message


def test_service_plan_resolves_sources_targets_and_modes(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text("pw")
    (tmp_path / ".env").write_text("API_TOKEN=from-dotenv\nWHO=world\n")
    stack = _stack(tmp_path, """
services:
  app:
    image: busybox
    secrets: [db, {source: tok, target: t, uid: "1000", gid: "2000", mode: 0400}]
    configs: [greeting, {source: conf, target: /etc/app.conf}]
  plain:
    image: busybox
secrets:
  db: {file: ./pw.txt}
  tok: {environment: API_TOKEN}
configs:
  greeting: {content: "hello ${WHO}"}
  conf: {file: ./pw.txt}
""")
    sp = translate.service_plan(stack, stack.services["app"], "sha256:1")
    got = [(f.kind, f.name, f.target, f.file, f.content, f.uid, f.gid, f.mode) for f in sp.files]
    assert got == [
        ("secret", "db", "/run/secrets/db", str(tmp_path / "pw.txt"), None, None, None, 0o444),
        ("secret", "tok", "/run/secrets/t", None, "from-dotenv", 1000, 2000, 0o400),
        ("config", "greeting", "/greeting", None, "hello world", None, None, 0o444),
        ("config", "conf", "/etc/app.conf", str(tmp_path / "pw.txt"), None, None, None, 0o444),
    ]
    assert "from-dotenv" not in repr(sp.files) and "from-dotenv" not in repr(sp.spec)
    assert sp.spec["top-level secrets"]["db"] == {"file": str(tmp_path / "pw.txt"), "content": sp.files[0].digest}
    # a service without secrets or configs keeps the hash it had before they were mounted
    plain = translate.service_plan(stack, stack.services["plain"], "sha256:1")
    from orchestrator import sha256

    assert plain.files == [] and not any(k.startswith("top-level") for k in plain.spec)
    assert plain.config_hash == sha256.hexdigest(f"{stack.services['plain'].config_hash()}:sha256:1".encode())


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda d: (d / "compose.yaml").write_text((d / "compose.yaml").read_text().replace("./pw.txt", "./other.txt")),
     "top-level secrets.db.file changed"),
    (lambda d: (d / "pw.txt").write_text("edited"), "top-level secrets.db.content changed"),
    (lambda d: (d / ".env").write_text("API_TOKEN=new\n"), "top-level secrets.tok.content changed"),
    (lambda d: (d / "compose.yaml").write_text((d / "compose.yaml").read_text().replace("API_TOKEN", "OTHER")),
     "top-level secrets.tok.content changed, top-level secrets.tok.environment changed"),
])
def test_a_changed_definition_changes_the_hash_and_names_the_reason(
        tmp_path: Path, edit: Callable[[Path], object], reason: str) -> None:
    (tmp_path / "pw.txt").write_text("pw")
    (tmp_path / "other.txt").write_text("pw")  # same content, other path: the path alone changes
    (tmp_path / ".env").write_text("API_TOKEN=old\n")
    text = "services:\n  app:\n    image: busybox\n    secrets: [db, tok]\n" \
           "secrets:\n  db: {file: ./pw.txt}\n  tok: {environment: API_TOKEN}\n"
    stack = _stack(tmp_path, text)
    before = translate.service_plan(stack, stack.services["app"], "sha256:1")
    assert translate.service_plan(stack, stack.services["app"], "sha256:1").config_hash == before.config_hash
    edit(tmp_path)
    stack = load_stack(LoadOptions(files=[str(tmp_path / "compose.yaml")], environ={}))
    after = translate.service_plan(stack, stack.services["app"], "sha256:1")
    assert after.config_hash != before.config_hash
    assert summarize(changed_paths(before.spec, after.spec)) == reason


def test_loader_refuses_what_cannot_be_mounted(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("""services:
  app:
    image: busybox
    secrets: [ext, {source: ok, uid: mysql}]
    configs: [{source: cext, mode: 0o17777}]
secrets:
  ext:
    external: true
  ok: {environment: X}
  unused: {external: true}
configs:
  cext: {external: true, name: real}
""")
    with pytest.raises(SpecErrors) as info:
        load_stack(LoadOptions(files=[str(tmp_path / "compose.yaml")], environ={}))
    lines = str(info.value).splitlines()
    where = str(tmp_path / "compose.yaml")
    assert f"{where}:8:15: secrets.ext.external: external secrets are not supported (used by service app): " \
           "pystack keeps no secret store to look 'ext' up in; give it a file: or environment: source" in lines
    assert any(line.startswith(f"{where}:12:") and "configs.cext.external: external configs are not supported"
               in line and "'real'" in line for line in lines)
    assert f"{where}:4:38: services.app.secrets[1].uid: uid 'mysql' must be a number" in lines
    assert any("services.app.configs[0].mode: mode 17777 is not a file mode" in line for line in lines)
    assert not any("unused" in line for line in lines)  # declared, not used: Compose ignores it too
