"""``pystack config``: validate the stack file and print its normalized form (or parts of it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from orchestrator.spec.models import Stack


@click.command()
@click.argument("services", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="Format the output.")
@click.option("-q", "--quiet", is_flag=True, help="Only validate; print nothing.")
@click.option("--services", "list_services", is_flag=True, help="Print the service names.")
@click.option("--volumes", "list_volumes", is_flag=True, help="Print the volume names.")
@click.option("--networks", "list_networks", is_flag=True, help="Print the network names.")
@click.option("--profiles", "list_profiles", is_flag=True, help="Print the profile names.")
@click.option("--images", "list_images", is_flag=True, help="Print the image names.")
@click.option("--hash", "hash_of", default=None, metavar='"SVC,..."', help='Print config hashes ("*" for all).')
@click.option("--no-interpolate", is_flag=True, help="Do not replace ${VARIABLES}.")
@click.option("--resolve-image-digests", is_flag=True,
              help="Pin image tags to digests (those of the images stored here; pull first).")
@click.option("--no-consistency", is_flag=True,
              help="Don't check model consistency (what services refer to): may print an invalid stack.")
@click.option("--no-path-resolution", is_flag=True,
              help="Don't resolve file paths: show those inside the project directory relative to it.")
@click.option("--no-normalize", is_flag=True,
              help="Print the files merged and interpolated as written (short syntax kept), once validated.")
@click.option("--environment", "show_environment", is_flag=True,
              help="Print environment used for interpolation.")
@click.option("--variables", "show_variables", is_flag=True,
              help="Print model variables and default values.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to a file.")
@click.pass_obj
def config(
    opts: GlobalOptions,
    services: tuple[str, ...],
    fmt: str,
    quiet: bool,
    list_services: bool,
    list_volumes: bool,
    list_networks: bool,
    list_profiles: bool,
    list_images: bool,
    hash_of: str | None,
    no_interpolate: bool,
    resolve_image_digests: bool,
    no_consistency: bool,
    no_path_resolution: bool,
    no_normalize: bool,
    show_environment: bool,
    show_variables: bool,
    output: str | None,
) -> None:
    """Validate the stack file(s) and print the normalized stack."""
    from orchestrator.cli.stack_loading import load_stack_for

    if show_environment or show_variables:
        click.echo(_environment(opts) if show_environment else _variables(opts), nl=False)
        return

    if no_normalize:
        text = _as_written(opts, services, fmt=fmt, interpolate=not no_interpolate, quiet=quiet,
                           consistency=not no_consistency)
        if quiet:
            return
        _emit(text, output)
        return
    if no_consistency:  # a stack the cache would never hold: loaded as it is, every time
        from orchestrator.cli.stack_loading import load_options
        from orchestrator.spec.stack import load_stack

        stack = load_stack(load_options(opts, interpolate=not no_interpolate), targets=services, consistency=False)
        for warning in stack.warnings:
            click.echo(f"WARN {warning}", err=True)
    else:
        stack = load_stack_for(opts, services, interpolate=not no_interpolate, models=not quiet)
    if quiet:
        return
    if services:
        wanted = _with_needs(stack, services)
        stack = stack.model_copy(update={"services": {n: s for n, s in stack.services.items() if n in wanted}})
    pins = _pins(opts, stack) if resolve_image_digests else None
    text = render(stack, fmt=fmt, list_services=list_services, list_volumes=list_volumes,
                  list_networks=list_networks, list_profiles=list_profiles, list_images=list_images,
                  hash_of=hash_of, escape=not no_interpolate, pins=pins,
                  relative_to=str(stack.working_dir) if no_path_resolution else None)
    _emit(text, output)


def _emit(text: str, output: str | None) -> None:
    if output:
        from orchestrator.errors import PystackError

        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise PystackError(f"cannot write {output}: {exc.strerror}") from None
    else:
        click.echo(text, nl=False)


def _pins(opts: GlobalOptions, stack: Stack) -> dict[str, str]:
    """Each service's ``image`` with the digest of the manifest stored for it (a service that only
    builds has no image name to pin)."""
    from orchestrator.cli import project as proj
    from orchestrator.errors import PystackError

    images = proj.context(opts).images
    pins: dict[str, str] = {}
    for name, svc in stack.services.items():
        if not svc.image:
            continue
        try:
            digest = images.resolve(svc.image).manifest_digest
        except PystackError:
            raise PystackError(f"config --resolve-image-digests: image {svc.image!r} of service {name!r} is not "
                               "stored here (pull it first)") from None
        pins[name] = svc.image if "@" in svc.image else f"{svc.image}@{digest}"
    return pins


def _with_needs(stack: Stack, services: tuple[str, ...]) -> set[str]:
    """``services`` and what they need, transitively (a reference to no service is left out)."""
    wanted: set[str] = set()
    queue = [s for s in services if s in stack.services]
    while queue:
        name = queue.pop()
        if name not in wanted:
            wanted.add(name)
            queue += [d for d in stack.services[name].dependencies() if d in stack.services]
    return wanted


def _as_written(opts: GlobalOptions, services: tuple[str, ...], *, fmt: str, interpolate: bool, quiet: bool,
                consistency: bool = True) -> str:
    """``--no-normalize``: the project as its files say once merged (overrides, extends, include) and
    interpolated, short syntax and relative paths kept; validated all the same, from the same load."""
    import sys

    from orchestrator.cli.stack_loading import load_options
    from orchestrator.spec.project import load_project
    from orchestrator.spec.serialize import dump_json, dump_yaml, escape_interpolation
    from orchestrator.spec.source import plain
    from orchestrator.spec.stack import stack_of

    options = load_options(opts, interpolate=interpolate)
    loaded = load_project(options)
    stack = stack_of(loaded, options, targets=services, consistency=consistency)
    for warning in stack.warnings:
        print(f"WARN {warning}", file=sys.stderr)
    if quiet:
        return ""
    data = {"name": loaded.name, **plain(loaded.data)}
    if services:  # with what they need, as the normalized output has them
        wanted = _with_needs(stack, services)
        written = data.get("services")
        data["services"] = {k: v for k, v in written.items() if k in wanted} if isinstance(written, dict) else {}
    if interpolate:
        data = escape_interpolation(data)
    return dump_json(data) if fmt == "json" else dump_yaml(data)


def render(stack: object, *, fmt: str = "yaml", list_services: bool = False, list_volumes: bool = False,
           list_networks: bool = False, list_profiles: bool = False, list_images: bool = False,
           hash_of: str | None = None, escape: bool = True, pins: dict[str, str] | None = None,
           relative_to: str | None = None) -> str:
    """The text ``config`` prints: pure, so tests call it without a terminal. ``pins``: service →
    its image reference pinned to a digest (``--resolve-image-digests``); ``relative_to``: the
    project directory, that paths are shown relative to (``--no-path-resolution``)."""
    from orchestrator.errors import PystackError
    from orchestrator.spec.models import Stack
    from orchestrator.spec.serialize import (
        dump_json,
        dump_yaml,
        escape_interpolation,
        relative_paths,
        stack_to_compose,
    )

    assert isinstance(stack, Stack)
    lines: list[str] | None = None
    if list_services:
        lines = list(stack.services)
    elif list_volumes:
        lines = list(stack.volumes)
    elif list_networks:
        lines = list(stack.networks)
    elif list_profiles:
        every = {**stack.disabled_services, **stack.services}
        lines = sorted({p for svc in every.values() for p in svc.profiles})
    elif list_images:
        from orchestrator.reconcile.translate import image_ref_of

        lines = [(pins or {}).get(name) or image_ref_of(stack.name, name, svc.image)
                 for name, svc in stack.services.items()]
    elif hash_of is not None:
        names = list(stack.services) if hash_of.strip() == "*" else [n.strip() for n in hash_of.split(",") if n.strip()]
        unknown = [n for n in names if n not in stack.services]
        if unknown:
            raise PystackError(f"no such service: {', '.join(unknown)}")
        lines = [f"{n} {stack.services[n].config_hash()}" for n in names]
    if lines is not None:
        return "".join(f"{line}\n" for line in lines)
    data = stack_to_compose(stack)
    for name, pinned in (pins or {}).items():
        data["services"][name]["image"] = pinned
    if relative_to is not None:
        data = relative_paths(data, relative_to)
    if escape:
        data = escape_interpolation(data)
    return dump_json(data) if fmt == "json" else dump_yaml(data)


def _environment(opts: GlobalOptions) -> str:
    """``--environment``: the variables ``${...}`` is answered from (the shell's, over .env files)."""
    from orchestrator.cli.stack_loading import load_options
    from orchestrator.spec.project import load_project

    env = load_project(load_options(opts)).environment
    return "".join(f"{k}={v}\n" for k, v in sorted(env.items()))


def _variables(opts: GlobalOptions) -> str:
    """``--variables``: the variables the file refers to, as Compose's table lists them."""
    from orchestrator.cli.stack_loading import load_options
    from orchestrator.spec.project import load_project
    from orchestrator.spec.variables import collect

    found = collect(load_project(load_options(opts, interpolate=False)).data)
    rows = [["NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE"]]
    rows += [[v.name, str(v.required).lower(), v.default or "", v.alternate or ""] for v in found.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in rows)
