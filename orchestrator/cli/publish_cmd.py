"""``pystack publish REPOSITORY[:TAG]``: the stack's files as an OCI artifact, Compose's ``publish``.

Before anything is sent, the checks Compose makes: a service that only builds (no ``image`` to
run elsewhere) refuses the publication, environment variables and env files are refused unless
``--with-env`` (they are where secrets live), and bind mounts, and whatever in the files looks like a
credential (``images.secret_scan``), are published only once confirmed (``-y``). Then the images
the stack builds are pushed (a failure is a warning, as in Compose), and the files go up as one
artifact (``stack_artifact``).
The files are published as written, except that a path to an env file or to a file a service
extends is replaced in place by the name of the copy published beside it.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from orchestrator.images.stack_artifact import Part
    from orchestrator.spec.models import Stack


@click.command()
@click.argument("repository")
@click.option("--oci-version", type=click.Choice(["1.0", "1.1"]), default=None,
              help="OCI image/artifact specification version (automatically determined by default).")
@click.option("--resolve-image-digests", is_flag=True, help="Pin image tags to digests.")
@click.option("--with-env", is_flag=True, help="Include environment variables in the published OCI artifact.")
@click.option("-y", "--yes", is_flag=True, help='Assume "yes" as answer to all prompts.')
@click.option("--insecure", is_flag=True, help="Allow plain HTTP to this registry.")
@click.pass_context
def publish(click_ctx: click.Context, repository: str, oci_version: str | None, resolve_image_digests: bool,
            with_env: bool, yes: bool, insecure: bool) -> None:
    """Publish compose application."""
    from dataclasses import replace

    from orchestrator import __version__
    from orchestrator.cli.stack_loading import load_options, load_stack_for
    from orchestrator.errors import PystackError
    from orchestrator.images import reference
    from orchestrator.images import stack_artifact as art
    from orchestrator.spec.project import load_project

    opts: GlobalOptions = click_ctx.obj
    try:
        reference.parse(repository)
    except PystackError as exc:
        raise PystackError(f"publish: {exc}") from None
    every = replace(opts, profiles=["*"])  # what any profile would run is published too
    stack = load_stack_for(every, models=True)
    loaded = load_project(load_options(every))
    _check_images(stack)
    _check_environment(stack, with_env)
    _confirm_binds(stack, yes)
    version = f"pystack {__version__}"
    parts = _parts(loaded.config_files, loaded.working_dir, with_env=with_env, version=version)
    _confirm_sensitive(parts, yes)
    if resolve_image_digests:
        from orchestrator.cli.config_cmd import _pins

        pins = _pins(opts, stack)
        override = {"services": {name: {"image": ref} for name, ref in sorted(pins.items())}}
        parts.append(art.stack_file("image-digests.yaml", _yaml(override), version))
    _push_built_images(click_ctx, stack, insecure)
    digest = art.push(repository, parts, oci_version=oci_version, insecure=insecure)
    click.echo(f"{repository} published ({digest})", err=True)


def _check_images(stack: Stack) -> None:
    from orchestrator.errors import PystackError

    only_build = sorted(n for n, s in stack.services.items() if s.build is not None and not s.image)
    if only_build:
        raise PystackError("publish: the stack cannot be published, these services only build and have no "
                           f"image: {', '.join(only_build)}")


def _check_environment(stack: Stack, with_env: bool) -> None:
    from orchestrator.errors import PystackError

    found = []
    for name, svc in sorted(stack.services.items()):
        if svc.env_file:
            found.append(f"service {name!r} has env_file declared")
        if svc.environment:
            found.append(f"service {name!r} has environment variable(s) declared")
    for name, cfg in sorted(stack.configs.items()):
        if cfg.environment:
            found.append(f"config {name!r} is declared as an environment variable")
    if found and not with_env:
        raise PystackError(f"publish: {'; '.join(found)}: to avoid leaking sensitive data, allow environment "
                           "variables with --with-env or remove them from the stack")


def _confirm_binds(stack: Stack, yes: bool) -> None:
    from orchestrator.errors import PystackError

    binds = [f"{name}: {v.source}:{v.target}" for name, svc in sorted(stack.services.items())
             for v in svc.volumes if v.type == "bind"]
    if not binds or yes:
        return
    text = ("you are about to publish bind mount declarations (not their content) within the artifact; "
            "check that none mounts a user's sensitive directories or data:\n  " + "\n  ".join(binds))
    if not sys.stdin.isatty():
        raise PystackError(f"publish: the stack has bind mounts ({'; '.join(binds)}); run with -y to publish them")
    click.echo(text, err=True)
    if not click.confirm("Are you ok to publish these bind mount declarations?", default=False, err=True):
        raise PystackError("publish: cancelled")


def _confirm_sensitive(parts: list[Part], yes: bool) -> None:
    """Compose's check for sensitive data: what looks like a credential in a published file is
    listed (redacted) and published only once confirmed."""
    from orchestrator.errors import PystackError
    from orchestrator.images.secret_scan import scan

    found = [f for part in parts for f in scan(part.name, part.data.decode(errors="replace"))]
    if not found or yes:
        return
    lines = [f"{f.file}:{f.line}: {f.kind} ({f.excerpt})" for f in found]
    if not sys.stdin.isatty():
        shown = "; ".join(lines[:3]) + (f"; and {len(lines) - 3} more" if len(lines) > 3 else "")
        raise PystackError(f"publish: the files hold what looks like sensitive data ({shown}); remove it, or run "
                           "with -y to publish it anyway")
    click.echo("you are about to publish sensitive data within your OCI artifact; please double check that you "
               "are not leaking sensitive data:\n  " + "\n  ".join(lines), err=True)
    if not click.confirm("Are you ok to publish these sensitive data?", default=False, err=True):
        raise PystackError("publish: cancelled")


def _yaml(doc: Any) -> bytes:
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False).encode()


def _hashed(path: Path, suffix: str) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest() + suffix


def _parts(files: list[Path], project_dir: Path, *, with_env: bool, version: str) -> list[Part]:
    """The layers: each stack file, then the files they extend (transitively), then env files."""
    from orchestrator.errors import PystackError
    from orchestrator.images import stack_artifact as art

    parts: list[Part] = []
    env_files: dict[Path, str] = {}
    extended: dict[Path, str] = {}
    names: set[str] = set()
    queue: list[tuple[Path, Path, bool]] = [(f, project_dir, False) for f in files]
    while queue:
        path, base, is_extends = queue.pop(0)
        data = path.read_bytes()
        rewritten = _rewrite(path, data, base, env_files if with_env else None, extended, queue)
        name = extended[path] if is_extends else path.name
        if name in names:
            raise PystackError(f"publish: two stack files are named {name}; the artifact names files by their "
                               "base name")
        names.add(name)
        parts.append(art.stack_file(name, rewritten, version, extends=is_extends))
    for path, name in env_files.items():
        try:
            parts.append(art.env_file(name, path.read_bytes(), version))
        except OSError as exc:
            raise PystackError(f"publish: cannot read env file {path}: {exc.strerror}") from None
    return parts


def _scalars(node: Any, key: str) -> Any:
    """The value node under ``key`` in a mapping node, or None."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _rewrite(path: Path, data: bytes, base: Path, env_files: dict[Path, str] | None,
             extended: dict[Path, str], queue: list[tuple[Path, Path, bool]]) -> bytes:
    """``data`` with each env file and extended file path replaced, in place, by the name of its
    published copy; every other byte (comments, layout, anchors) stays as written."""
    import json

    import yaml

    from orchestrator.errors import PystackError

    text = data.decode()
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if _scalars(root, "include") is not None:
        raise PystackError(f"publish: {path} includes other files (include:), which cannot be published; "
                           "merge them with -f instead")
    edits: dict[int, tuple[int, str]] = {}
    services = _scalars(root, "services")
    for _, svc in services.value if isinstance(services, yaml.MappingNode) else []:
        env = _scalars(svc, "env_file")
        if env is not None and env_files is not None:
            entries = env.value if isinstance(env, yaml.SequenceNode) else [env]
            for entry in entries:
                node = _scalars(entry, "path") if isinstance(entry, yaml.MappingNode) else entry
                if isinstance(node, yaml.ScalarNode):
                    full = (base / node.value).resolve()
                    name = env_files.setdefault(full, _hashed(full, ".env"))
                    edits[node.start_mark.index] = (node.end_mark.index, name)
        node = _scalars(_scalars(svc, "extends"), "file")
        if isinstance(node, yaml.ScalarNode) and node.value:
            full = (path.parent / node.value).resolve()
            if not full.is_file():
                raise PystackError(f"publish: {path}: the file {node.value} that a service extends is missing")
            if full not in extended:
                extended[full] = _hashed(full, ".yaml")
                queue.append((full, full.parent, True))
            edits[node.start_mark.index] = (node.end_mark.index, extended[full])
    for start in sorted(edits, reverse=True):
        stop, name = edits[start]
        text = text[:start] + json.dumps(name) + text[stop:]
    return text.encode() if edits else data


def _push_built_images(click_ctx: click.Context, stack: Stack, insecure: bool) -> None:
    """The images this stack builds, so that the published file runs elsewhere; a failure only warns."""
    from orchestrator.cli import image_cmd
    from orchestrator.errors import PystackError

    for name, svc in sorted(stack.services.items()):
        if svc.build is None or not svc.image:
            continue
        try:
            click_ctx.invoke(image_cmd.push, ref=svc.image, insecure=insecure, quiet=True)
        except PystackError as exc:
            click.echo(f"WARN service {name}: {exc}", err=True)
