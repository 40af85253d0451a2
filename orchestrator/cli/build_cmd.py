"""``pystack build``: build one Dockerfile into the local image store (the stack-wide build is the lead's)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.options import GlobalOptions


def parse_build_args(items: tuple[str, ...]) -> dict[str, str]:
    """``K=V`` sets K; a bare ``K`` takes K from the environment (skipped when unset), as Docker does."""
    import os

    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--build-arg")
        if eq:
            out[key] = value
        elif key in os.environ:
            out[key] = os.environ[key]
    return out


def ssh_paths(entry: str) -> str:
    """``ID=PATH[,PATH]`` with its paths taken from the current directory."""
    import os

    ident, eq, rest = entry.partition("=")
    if not eq:
        return entry
    return ident + "=" + ",".join(os.path.abspath(os.path.expanduser(p)) for p in rest.split(",") if p)


@click.command()
@click.option("-t", "--tag", default=None, metavar="NAME:TAG", help="Name the image.")
@click.option("--build-arg", "build_args", multiple=True, metavar="K=V", help="Set a build argument (repeatable).")
@click.option("--target", default=None, help="Build only up to this stage.")
@click.option("-f", "--file", "dockerfile", default="Dockerfile", help="Dockerfile, relative to CONTEXT.")
@click.option("--no-cache", is_flag=True, help="Do not use the layer cache.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the image id.")
@click.option("--network", type=click.Choice(["host", "none"]), default=None,
              help="Network of RUN steps that do not say (default host).")
@click.option("--ssh", "ssh", multiple=True, metavar="ID[=SOCKET|KEY]",
              help="SSH agent for RUN --mount=type=ssh: default ($SSH_AUTH_SOCK), or ID=SOCKET or ID=KEY[,KEY].")
@click.option("--pull", is_flag=True, help="Always attempt to pull a newer version of the base images.")
@click.argument("context", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def build(opts: GlobalOptions, tag: str | None, build_args: tuple[str, ...], target: str | None, dockerfile: str,
          no_cache: bool, quiet: bool, network: str | None, ssh: tuple[str, ...], pull: bool, context: Path) -> None:
    """Build an image from a Dockerfile in CONTEXT. A base image missing from the store is pulled;
    with --pull every base image is, present or not."""
    from orchestrator.images.build.builder import BuildReport, build_image
    from orchestrator.images.build.runner import RuntimeBuildRunner
    from orchestrator.images.build.ssh_agents import parse_sources
    from orchestrator.images.store import ImageStore
    from orchestrator.paths import Paths

    paths = Paths(Path(opts.root))
    paths.ensure()
    store = ImageStore(paths)

    def say(line: str) -> None:
        if not quiet:
            click.echo(line, err=True)

    report = BuildReport()
    runner = RuntimeBuildRunner(paths, output=say)
    try:
        img = build_image(context, dockerfile=dockerfile, tag=tag, build_args=parse_build_args(build_args),
                          target=target, store=store, runner=runner, no_cache=no_cache, progress=say,
                          report=report, network="none" if network == "none" else "host",
                          ssh=parse_sources([ssh_paths(a) for a in ssh], "--ssh"), pull=pull)
    finally:
        store.close()
    if not quiet:
        say(f"{report.hits} cached, {report.misses} built")
        if tag:
            say(f"tagged {tag}")
    sys.stdout.write(img.id + "\n")
