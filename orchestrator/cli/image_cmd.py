"""``pystack image …``, ``images``, ``pull``, ``push``, ``login``: the image store from the command line.

Output follows docker's: the ``image ls`` table (REPOSITORY TAG IMAGE ID CREATED SIZE), Compose's
``images`` (the images of the project's containers),
``image inspect`` as a JSON list, ``image history`` newest layer first. The store is imported
only inside each command so ``pystack --help`` stays fast.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from orchestrator.images.model import Image
    from orchestrator.images.store import ImageStore


def _store(opts: GlobalOptions) -> ImageStore:
    from orchestrator.images.store import ImageStore
    from orchestrator.paths import Paths

    return ImageStore(Paths(Path(opts.root)))


def _ago(created: str | None) -> str:
    if not created:
        return "N/A"
    text = re.sub(r"(\.\d{6})\d+", r"\1", created.strip()).replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return "N/A"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    from orchestrator.cli.durations import human_duration

    return human_duration((datetime.now(UTC) - when).total_seconds()) + " ago"  # as docker images


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g}{unit}" if unit != "B" else f"{n}B"
        n = n / 1000  # type: ignore[assignment]
    return f"{n}B"


def _repo_tag(ref: str | None) -> tuple[str, str]:
    if ref is None:
        return "<none>", "<none>"
    from orchestrator.images import reference

    r = reference.parse(ref)
    return r.familiar_repository, r.tag or "<none>"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _list(opts: GlobalOptions, quiet: bool, digests: bool) -> None:
    store = _store(opts)
    images = store.list()
    if quiet:
        seen: list[str] = []
        for img in images:
            if img.short_id not in seen:
                seen.append(img.short_id)
        click.echo("\n".join(seen)) if seen else None
        return
    head = ["REPOSITORY", "TAG", *(["DIGEST"] if digests else []), "IMAGE ID", "CREATED", "SIZE"]
    rows = [head]
    for img in images:
        repo, tag = _repo_tag(img.ref)
        rows.append([repo, tag, *([img.manifest_digest] if digests else []), img.short_id, _ago(img.created),
                     _size(img.size)])
    click.echo(_table(rows))


@click.group("image")
def image() -> None:
    """Manage images: ls, inspect, history, load, save, import, tag, rm, prune, pull, push."""


@image.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only show image ids.")
@click.option("--digests", is_flag=True, help="Show manifest digests.")
@click.pass_obj
def image_ls(opts: GlobalOptions, quiet: bool, digests: bool) -> None:
    """List images."""
    _list(opts, quiet, digests)


@click.command("images")
@click.argument("services", nargs=-1)
@click.option("-q", "--quiet", is_flag=True, help="Only display IDs.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Format the output. Values: [table | json]")
@click.pass_obj
def images(opts: GlobalOptions, services: tuple[str, ...], quiet: bool, fmt: str) -> None:
    """List images used by the created containers.

    As Compose's: one row per container of the project (one-offs too). Every image of the store is
    listed by ``image ls``.
    """
    from orchestrator.cli import project as proj
    from orchestrator.errors import PystackError
    from orchestrator.state import containers as cstate

    name, stack = proj.project_name(opts)
    ctx = proj.context(opts)
    recs = cstate.for_project(ctx.db(), name)
    if services:
        known = {*(stack.services if stack is not None else ()), *(r.service for r in recs)}
        unknown = [s for s in services if s not in known]
        if unknown:
            raise PystackError(f"no such service: {', '.join(unknown)}")
        recs = [r for r in recs if r.service in services]
    store = _store(opts)
    found: list[tuple[str, str, Image]] = []
    for r in sorted(recs, key=lambda r: r.name):
        try:
            found.append((r.name, r.image, store.resolve(r.image_id or r.image)))
        except PystackError:
            continue  # its image was removed since: docker cannot inspect it either
    if quiet:
        ids = dict.fromkeys(img.id.partition(":")[2] for _, _, img in found)
        click.echo("\n".join(ids)) if ids else None
        return
    if fmt == "json":
        doc = [{"ID": img.id, "ContainerName": cname, "Repository": _repo_tag(ref)[0], "Tag": _repo_tag(ref)[1],
                "Platform": img.platform, "Size": img.size, **({"Created": img.created} if img.created else {})}
               for cname, ref, img in found]
        click.echo(json.dumps(doc))
        return
    rows = [["CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE ID", "SIZE", "CREATED"]]
    for cname, ref, img in found:
        repo, tag = _repo_tag(ref)
        rows.append([cname, repo, tag, img.platform, img.short_id, _size(img.size), _ago(img.created)])
    click.echo(_table(rows))


def inspect_doc(img: Image) -> dict[str, Any]:
    from orchestrator.images import reference

    cfg = img.config
    return {
        "Id": img.id,
        "RepoTags": [reference.familiar(r) for r in img.refs if not reference.parse(r).digest],
        "RepoDigests": [f"{reference.parse(r).familiar_repository}@{img.manifest_digest}" for r in img.refs],
        "ManifestDigest": img.manifest_digest,
        "ManifestMediaType": img.media_type,
        "Created": img.created,
        "Author": cfg.get("author", ""),
        "Architecture": cfg.get("architecture"),
        "Variant": cfg.get("variant"),
        "Os": cfg.get("os"),
        "Config": img.container_config,
        "RootFS": {"Type": "layers", "Layers": [lr.diff_id for lr in img.layers]},
        "Layers": [{"Digest": lr.digest, "DiffID": lr.diff_id, "Size": lr.size, "MediaType": lr.media_type}
                   for lr in img.layers],
        "Size": img.size,
        "History": cfg.get("history") or [],
    }


@image.command("inspect")
@click.argument("refs", nargs=-1, required=True)
@click.pass_obj
def image_inspect(opts: GlobalOptions, refs: tuple[str, ...]) -> None:
    """Show images as JSON."""
    store = _store(opts)
    click.echo(json.dumps([inspect_doc(store.resolve(r)) for r in refs], indent=4))


@image.command("history")
@click.option("--no-trunc", is_flag=True)
@click.argument("ref")
@click.pass_obj
def image_history(opts: GlobalOptions, ref: str, no_trunc: bool) -> None:
    """Show how an image was made, newest step first."""
    img = _store(opts).resolve(ref)
    layers = iter(reversed(img.layers))
    rows = [["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]]
    history = list(reversed(img.config.get("history") or [{} for _ in img.layers]))
    for i, h in enumerate(history):
        size = 0
        if not h.get("empty_layer"):
            lr = next(layers, None)
            size = lr.size if lr else 0
        by = str(h.get("created_by", ""))
        if not no_trunc and len(by) > 45:
            by = by[:44] + "…"
        rows.append([img.short_id if i == 0 else "<missing>", _ago(h.get("created")), by, _size(size),
                     str(h.get("comment", ""))])
    click.echo(_table(rows))


@image.command("load")
@click.option("-i", "--input", "path", required=True, type=click.Path(path_type=Path),
              help="docker-save archive or OCI layout (directory or tar, gzip or not).")
@click.option("-q", "--quiet", is_flag=True)
@click.pass_obj
def image_load(opts: GlobalOptions, path: Path, quiet: bool) -> None:
    """Load images from an archive or layout."""
    from orchestrator.images import reference

    for img in _store(opts).load(path):
        if quiet:
            continue
        names = [reference.familiar(r) for r in img.refs] or [img.id]
        for n in names:
            click.echo(f"Loaded image: {n}")


@image.command("save")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["docker", "oci"]), default="docker",
              help="docker-save tar (default) or OCI layout (a directory unless OUT ends in .tar/.gz).")
@click.argument("refs", nargs=-1, required=True)
@click.pass_obj
def image_save(opts: GlobalOptions, out: Path, fmt: str, refs: tuple[str, ...]) -> None:
    """Save images to a docker-save archive or an OCI layout."""
    _store(opts).save(list(refs), out, format="oci" if fmt == "oci" else "docker")


@image.command("import")
@click.argument("rootfs", type=click.Path(path_type=Path))
@click.argument("ref")
@click.option("--cmd", default=None, help="Default command (JSON list or a shell string).")
@click.pass_obj
def image_import(opts: GlobalOptions, rootfs: Path, ref: str, cmd: str | None) -> None:
    """Import a root filesystem tar as a one-layer image."""
    config: dict[str, Any] = {}
    if cmd:
        config["Cmd"] = json.loads(cmd) if cmd.lstrip().startswith("[") else ["/bin/sh", "-c", cmd]
    click.echo(_store(opts).import_rootfs(rootfs, ref, config=config).id)


@image.command("tag")
@click.argument("src")
@click.argument("ref")
@click.pass_obj
def image_tag(opts: GlobalOptions, src: str, ref: str) -> None:
    """Give an image another name."""
    _store(opts).tag(src, ref)


@image.command("rm")
@click.option("-f", "--force", is_flag=True, help="Untag even if a container uses it.")
@click.argument("refs", nargs=-1, required=True)
@click.pass_obj
def image_rm(opts: GlobalOptions, refs: tuple[str, ...], force: bool) -> None:
    """Remove images (only what no other image or container uses is deleted)."""
    store = _store(opts)
    for r in refs:
        for line in store.remove(r, force=force):
            click.echo(line)


@image.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove every image no container uses.")
@click.option("-f", "--force", is_flag=True, help="Do not ask (pystack never asks; accepted for docker users).")
@click.pass_obj
def image_prune(opts: GlobalOptions, all_: bool, force: bool) -> None:
    """Remove unused images."""
    lines = _store(opts).prune(all=all_)
    click.echo("\n".join(lines) if lines else "Total reclaimed: nothing to remove")


def _progress(opts: GlobalOptions, quiet: bool) -> Any:
    from orchestrator.images.progress import make_progress

    return make_progress("quiet" if quiet else opts.progress)


@click.command("pull")
@click.argument("ref")
@click.option("--platform", default=None, help="os/arch[/variant]; default: this host's.")
@click.option("--insecure", is_flag=True, help="Allow plain HTTP to this registry.")
@click.option("-q", "--quiet", is_flag=True)
@click.pass_obj
def pull(opts: GlobalOptions, ref: str, platform: str | None, insecure: bool, quiet: bool) -> None:
    """Pull an image from a registry."""
    from orchestrator.images import reference

    img = _store(opts).pull(ref, platform=platform, insecure=insecure, progress=_progress(opts, quiet))
    click.echo(reference.familiar(img.ref) if img.ref else img.id)


@click.command("push")
@click.argument("ref")
@click.option("--insecure", is_flag=True, help="Allow plain HTTP to this registry.")
@click.option("-q", "--quiet", is_flag=True)
@click.pass_obj
def push(opts: GlobalOptions, ref: str, insecure: bool, quiet: bool) -> None:
    """Push an image to a registry."""
    _store(opts).push(ref, insecure=insecure, progress=_progress(opts, quiet))


@click.command("login")
@click.argument("server", default="docker.io")
@click.option("-u", "--username", default=None, help="Username.")
@click.option("-p", "--password", default=None, help="Prefer --password-stdin.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--insecure", is_flag=True, help="Allow plain HTTP to this registry.")
def login(server: str, username: str | None, password: str | None, password_stdin: bool, insecure: bool) -> None:
    """Log in to a registry; credentials go to ~/.docker/config.json (or $DOCKER_CONFIG)."""
    from orchestrator.images.distribution import login as do_login

    if password_stdin:
        password = sys.stdin.read().rstrip("\n")
    if username is None:
        username = click.prompt("Username")
    if password is None:
        password = click.prompt("Password", hide_input=True)
    server = server.removeprefix("https://").removeprefix("http://").rstrip("/")
    path = do_login(server, username, password, insecure=insecure)
    click.echo(f"Login Succeeded (credentials stored in {path})")


image.add_command(pull)
image.add_command(push)
