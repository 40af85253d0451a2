"""Building a service's image from its ``build:`` section, as ``up`` and ``build`` do."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.reconcile.context import Context

if TYPE_CHECKING:
    from orchestrator.spec.models import Service, Stack


def build_service_image(ctx: Context, stack: Stack, svc: Service, ref: str, report: Callable[[str], None],
                        *, no_cache: bool = False, build_args: Mapping[str, str] | None = None,
                        ssh: Sequence[str] = (), pull: bool = False) -> str:
    """Build and tag ``ref``; returns the image id. Build args without a value are left out, as Compose does;
    ``build_args`` (``build --build-arg``) win over the file's, ``ssh`` (``build --ssh``) over
    the file's ``build.ssh``; ``pull`` (``build --pull``) or the file's ``build.pull`` pulls the
    base images even when they are present."""
    from orchestrator.images.build.builder import StepLimits, build_image
    from orchestrator.images.build.runner import RuntimeBuildRunner
    from orchestrator.images.build.ssh_agents import parse_sources

    assert svc.build is not None
    b = svc.build
    args = {k: v for k, v in b.args.items() if v is not None}
    args.update(build_args or {})
    context = Path(b.context)
    dockerfile = b.dockerfile
    if b.dockerfile_inline is not None:
        inline = ctx.paths.build_cache / "inline" / f"{stack.name}-{svc.name}.Dockerfile"
        inline.parent.mkdir(parents=True, exist_ok=True)
        inline.write_text(b.dockerfile_inline)
        dockerfile = str(inline)
    from orchestrator.errors import ImageError

    if b.network not in (None, "default", "host", "none"):
        raise ImageError(f"service {svc.name!r}: build.network {b.network!r}: a build runs on the host's network "
                         "(default, host) or on none; it cannot join a network of the stack")
    runner = RuntimeBuildRunner(ctx.paths, output=lambda line: report(f"  {svc.name} | {line}"))
    image = build_image(context, dockerfile=dockerfile, tag=ref, build_args=args, target=b.target,
                        store=ctx.images, runner=runner, no_cache=no_cache or b.no_cache,
                        progress=lambda line: report(f"  {svc.name} | {line}"),
                        network="none" if b.network == "none" else "host", labels=b.labels,
                        secrets=build_secrets(stack, svc), contexts=b.additional_contexts,
                        ssh=parse_sources([*b.ssh, *ssh], f"service {svc.name!r}: build"), pull=pull or b.pull,
                        limits=StepLimits(shm_size=b.shm_size, ulimits=dict(b.ulimits),
                                          extra_hosts=list(b.extra_hosts)))
    for extra in b.tags:
        ctx.images.tag(ref, extra)
    return image.id


def build_secrets(stack: Stack, svc: Service) -> dict[str, bytes]:
    """Compose's ``build.secrets``: each named top-level secret's value (its file, variable or
    content) under its id in the build (``target``, else its name), for ``RUN --mount=type=secret``."""
    from orchestrator.errors import ImageError

    assert svc.build is not None
    out: dict[str, bytes] = {}
    for entry in svc.build.secrets:
        source = str(entry.get("source") or "")
        where = f"service {svc.name!r}: build.secrets {source!r}"
        obj = stack.secrets.get(source)
        if obj is None:
            raise ImageError(f"{where}: no such top-level secret")
        if obj.file is not None:
            try:
                data = Path(obj.file).read_bytes()
            except OSError as exc:
                raise ImageError(f"{where}: cannot read {obj.file}: {exc.strerror}") from None
        elif obj.environment is not None:
            value = stack.environment.get(obj.environment)
            if value is None:
                raise ImageError(f"{where}: environment variable {obj.environment} is not set")
            data = value.encode()
        elif obj.content is not None:
            data = obj.content.encode()
        else:
            raise ImageError(f"{where}: an external secret has no value here")
        out[str(entry.get("target") or source)] = data
    return out

