"""``pystack commit`` and ``pystack export``: a service container's filesystem as an image, or as a tar.

Both read the container's overlay on the host: ``commit`` its upper directory (what the container
changed, made a layer on top of its image), ``export`` its merged root (the whole filesystem, as
``docker export``: without volumes, binds and the kernel filesystems mounted inside it). A running
container is frozen meanwhile (``commit``'s ``--pause``, on by default as in Docker; always for
``export``), so that it cannot swap a directory for a symbolic link while the tree is read, and
the archive holds one moment's state; SIGTERM and SIGHUP resume it before the command ends.
``commit --pause=false`` reads the tree of a container that keeps running, as Docker's does.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from orchestrator.reconcile.context import Context
    from orchestrator.state.containers import ContainerRecord

_INDEX = click.option("--index", type=click.IntRange(min=1), default=1, show_default=True,
                      help="Index of the container if service has multiple replicas.")


_STOPPING = threading.Event()


class _Output:
    """Where the archive goes: every byte written, unbuffered (nothing left to flush at exit), and
    nothing more once a signal ends the command."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view and not _STOPPING.is_set():
            view = view[os.write(self.fd, view):]
        return len(data)


@contextlib.contextmanager
def _frozen(ctx: Context, rec: ContainerRecord, freeze: bool) -> Iterator[None]:
    """The container paused for the block if it runs (and is not paused already), resumed after."""
    from orchestrator.errors import PystackError

    rt = ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
    try:
        running = freeze and rt.state(rec.id).status == "running"
    except PystackError:
        running = False
    if not running:
        yield
        return
    import signal

    def leave(signum: int, _frame: object) -> None:
        _STOPPING.set()  # the archive's last writes are dropped: a reader that stopped reading cannot hold us
        raise SystemExit(128 + signum)  # through the ``finally`` below: never leave it frozen

    from orchestrator.state import containers as cstate

    saved = {s: signal.signal(s, leave) for s in (signal.SIGTERM, signal.SIGHUP)}
    rt.pause(rec.id)
    cstate.update(ctx.db(), rec.id, status="paused")  # what ps shows meanwhile, as after pause
    try:
        yield
    finally:
        rt.resume(rec.id)
        cstate.update(ctx.db(), rec.id, status="running")
        for s, handler in saved.items():
            signal.signal(s, handler)


def _mounted_root(ctx: Context, rec: ContainerRecord, verb: str) -> Path:
    from orchestrator.errors import PystackError
    from orchestrator.storage.mounts import is_mountpoint

    merged = ctx.paths.container(rec.id) / "merged"
    if not is_mountpoint(merged):
        raise PystackError(f"{verb}: the root filesystem of {rec.name} is not mounted (start it once first)")
    return merged


@click.command()
@click.argument("service")
@click.argument("repository", required=False)
@click.option("-a", "--author", default=None, help='Author (e.g. "Jane Doe <jane@example.com>").')
@click.option("-c", "--change", "changes", multiple=True, metavar="INSTRUCTION",
              help="Apply a Dockerfile instruction to the image's config (CMD, ENTRYPOINT, ENV, EXPOSE, "
                   "LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK, SHELL).")
@_INDEX
@click.option("-m", "--message", default=None, help="Commit message.")
@click.option("-p", "--pause", type=click.BOOL, default=True, show_default=True, is_flag=False, flag_value=True,
              help="Pause the container during the commit (--pause=false leaves it running).")
@click.pass_obj
def commit(opts: GlobalOptions, service: str, repository: str | None, author: str | None,
           changes: tuple[str, ...], index: int, message: str | None, pause: bool) -> None:
    """Create a new image from a service container's changes; prints its ID."""
    from orchestrator.images import commit as cm
    from orchestrator.images import manifest as mf
    from orchestrator.images import reference
    from orchestrator.images.build.workspace import Workspace

    ref = reference.normalize(repository) if repository else None  # a bad name fails before anything
    instructions = cm.parse_changes(changes)
    ctx, rec = proj.service_container(opts, service, index, "commit")
    store = ctx.images
    image = store.resolve(rec.image_id or rec.image)
    cdir = ctx.paths.container(rec.id)
    _mounted_root(ctx, rec, "commit")
    process = json.loads((cdir / "config.json").read_text()).get("process") or {}
    svc = rec.spec.get("service") or {}
    upper = cdir / "upper"
    with _frozen(ctx, rec, pause):
        layer = Workspace(store).commit_layer(upper) if upper.is_dir() else None
    layers = [*image.layers, *([layer] if layer is not None else [])]
    env = dict(str(e).partition("=")[::2] for e in process.get("env") or [])
    from orchestrator.cli.ps_cmd import labels_of

    # the labels ps shows (Compose's com.docker.compose.* ones, then the service's), as a Docker
    # commit keeps the container's labels
    container = cm.ContainerConfig(
        env=env, working_dir=process.get("cwd"), entrypoint=svc.get("entrypoint"), command=svc.get("command"),
        user=svc.get("user"), labels=labels_of(rec))
    config = cm.committed_config(image.config, container, instructions, diff_ids=[lr.diff_id for lr in layers],
                                 layer_added=layer is not None, created=mf.now_rfc3339(), author=author,
                                 message=message, created_by=" ".join(process.get("args") or []))
    committed = store.write_image(config, layers, [ref] if ref else [])
    click.echo(committed.id)


@click.command()
@click.argument("service")
@_INDEX
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Write to a file, instead of STDOUT.")
@click.pass_obj
def export(opts: GlobalOptions, service: str, index: int, output: str | None) -> None:
    """Export a service container's filesystem as a tar archive."""
    from orchestrator.errors import PystackError
    from orchestrator.storage.diff import make_layer

    if output is None and sys.stdout.isatty():
        raise PystackError("export: refusing to write a tar archive to a terminal; use -o FILE or redirect")
    ctx, rec = proj.service_container(opts, service, index, "export")
    merged = _mounted_root(ctx, rec, "export")
    if output is None:
        with _frozen(ctx, rec, True):
            make_layer(merged, _Output(sys.stdout.fileno()), gzip=False)
        return
    target = Path(output)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "xb") as fh, _frozen(ctx, rec, True):
            make_layer(merged, _Output(fh.fileno()), gzip=False)
        tmp.replace(target)
    except OSError as exc:
        raise PystackError(f"export: {output}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
