"""Stack-wide operations: make sure images, networks and volumes exist, then converge or tear down.

This is what ``up`` and ``down`` are, independent of the command line: the CLI and the tests call
these functions with a loaded :class:`~orchestrator.spec.models.Stack`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.errors import PystackError
from orchestrator.plan.model import Plan
from orchestrator.plan.planner import PlanOptions
from orchestrator.reconcile import engine, translate
from orchestrator.reconcile.context import Context
from orchestrator.reconcile.desired import ServicePlan
from orchestrator.reconcile.engine import StackPlan
from orchestrator.reconcile.parallel import Outcome, describe
from orchestrator.state import containers as cstate
from orchestrator.state.containers import ContainerRecord

if TYPE_CHECKING:
    from orchestrator.images.model import Image
    from orchestrator.network.driver import NetworkSpec
    from orchestrator.reconcile.anonymous import Disposal
    from orchestrator.reconcile.desired import PreStartPlan
    from orchestrator.spec.models import Service, Stack

Report = Callable[[str], None]


@dataclass(frozen=True)
class UpOptions:
    """The ``up`` and ``create`` flags, gathered so that the reconciler takes one value rather than a dozen."""
    # always | missing | never | build; None is Compose's "policy": each service's pull_policy decides
    pull: str | None = None
    build: bool | None = None  # True --build, False --no-build, None: build when missing
    plan: PlanOptions = field(default_factory=PlanOptions)
    dry_run: bool = False
    no_start: bool = False
    services: tuple[str, ...] = ()
    renew_anonymous: bool = False  # -V: the containers made start with empty anonymous volumes
    stop_timeout: float | None = None  # -t: the grace period of the running containers a recreate stops
    quiet_pull: bool = False  # --quiet-pull: no progress lines for the images pulled
    quiet_build: bool = False  # --quiet-build: no lines of the builds' steps and RUN output


def ensure_images(ctx: Context, stack: Stack, opts: UpOptions, report: Report) -> dict[str, Image]:
    """Pull or build what each service needs (only those of ``opts.services`` when it names some,
    as Compose's ``up web`` leaves the other services' images alone); returns service → image (its
    id and its config, whose HEALTHCHECK the service's healthcheck completes)."""
    images: dict[str, Image] = {}
    wanted = set(opts.services)
    for name, svc in stack.services.items():
        if wanted and name not in wanted:
            continue
        ref = translate.image_ref(stack.name, svc)
        have = ctx.images.exists(ref)
        # an explicit --pull overrides every service's pull_policy, as Compose's does
        policy = opts.pull or svc.pull_policy or "missing"
        if svc.build is not None and (opts.build or (not have and opts.build is not False) or policy == "build"):
            report(f"Image {ref}  Building")
            from orchestrator.reconcile.building import build_service_image

            build_service_image(ctx, stack, svc, ref, (lambda _line: None) if opts.quiet_build else report)
            report(f"Image {ref}  Built")
        elif not have or policy == "always":
            if policy == "never" or (svc.build is not None and opts.build is False and not have):
                raise PystackError(f"service {name!r}: image {ref!r} is not present and pulling is disabled")
            if not _pull(ctx, ref, svc.platform, opts, report):
                continue
        images[name] = ctx.images.resolve(ref)
        for i, hook in enumerate(svc.pre_start):  # a hook's own image is pulled as a service's is
            hook_ref = hook_image_ref(stack.name, name, hook)
            if hook_ref == ref:
                images[hook_key(name, i)] = images[name]
                continue
            if not ctx.images.exists(hook_ref) or policy == "always":
                if policy == "never":
                    raise PystackError(f"service {name!r}: pre_start[{i}] image {hook_ref!r} is not present and "
                                       "pulling is disabled")
                if not _pull(ctx, hook_ref, svc.platform, opts, report):
                    continue
            images[hook_key(name, i)] = ctx.images.resolve(hook_ref)
    return images


def _pull(ctx: Context, ref: str, platform: str | None, opts: UpOptions, report: Report) -> bool:
    """Pull ``ref`` (True), or say that it would be (a dry run: False)."""
    if opts.dry_run:
        report(f"Image {ref}  would be pulled")
        return False
    if not opts.quiet_pull:
        report(f"Image {ref}  Pulling")
    ctx.images.pull(ref, platform=platform)
    if not opts.quiet_pull:
        report(f"Image {ref}  Pulled")
    return True


def hook_key(service: str, index: int) -> str:
    """Where :func:`ensure_images` files the image of a service's ``pre_start[index]``."""
    return f"{service} pre_start[{index}]"


def hook_image_ref(project: str, service: str, hook: dict[str, Any]) -> str:
    """The image a hook runs: its own, else the service's (pulled, or built under the service's name)."""
    image = (hook.get("service") or {}).get("image")
    return translate.image_ref_of(project, service, str(image) if image else None)


def network_specs(stack: Stack) -> list[NetworkSpec]:
    from orchestrator.network.driver import NetworkSpec

    specs: list[NetworkSpec] = []
    for key in translate.used_networks(stack):
        cfg = stack.networks.get(key)
        pool = cfg.ipam.config[0] if cfg and cfg.ipam.config else None
        mtu = cfg.driver_opts.get("com.docker.network.driver.mtu") if cfg else None
        specs.append(NetworkSpec(
            name=translate.network_name(stack, key), project=stack.name,
            subnet=pool.subnet if pool else None, gateway=pool.gateway if pool else None,
            ip_range=pool.ip_range if pool else None, internal=bool(cfg and cfg.internal),
            mtu=int(mtu) if mtu else None, labels=dict(cfg.labels) if cfg else {},
            external=bool(cfg and cfg.external),
        ))
    return specs


def service_plan(stack: Stack, name: str, images: dict[str, Image]) -> ServicePlan:
    """A service's plan with its image's id, health check and stop signal, when the image is known
    (a dry run may plan before a pull); with the plans of its ``pre_start`` hooks."""
    svc = stack.services[name]
    plan = _plan_on(stack, svc, images.get(name))
    if svc.pre_start:
        plan.pre_start = hook_plans(stack, svc.pre_start, lambda i, _hook: images.get(hook_key(name, i)))
    return plan


def hook_plans(stack: Stack, hooks: Sequence[dict[str, Any]],
               image_of: Callable[[int, dict[str, Any]], Image | None]) -> list[PreStartPlan]:
    """The runners of a service's ``pre_start`` hooks (as the stack file, or a container's record, has them)."""
    from orchestrator.reconcile.desired import PreStartPlan
    from orchestrator.reconcile.pre_start import runner_plan

    return [PreStartPlan(i, bool(hook.get("per_replica")),
                         runner_plan(_plan_on(stack, _hook_service(hook), image_of(i, hook))))
            for i, hook in enumerate(hooks)]


def _plan_on(stack: Stack, svc: Service, image: Image | None) -> ServicePlan:
    if image is None:
        return translate.service_plan(stack, svc)
    health = image.container_config.get("Healthcheck")
    stop_signal = image.container_config.get("StopSignal")
    return translate.service_plan(stack, svc, image.id, health if isinstance(health, dict) else None,
                                  stop_signal if isinstance(stop_signal, str) and stop_signal else None)


def _hook_service(hook: dict[str, Any]) -> Service:
    """The service a hook's runner is made from (validated when the stack was loaded); the models
    are imported for it only: a stack from the load cache is records without them."""
    from orchestrator.spec.models import Service as ServiceModel

    return ServiceModel.model_validate(hook["service"])


def stack_plan(ctx: Context, stack: Stack, images: dict[str, Image], only: tuple[str, ...] = ()) -> StackPlan:
    """The plan of every service, or of those of ``only`` when it names some."""
    from orchestrator.plan.order import generations

    services = {n: service_plan(stack, n, images) for n in stack.services if not only or n in only}
    return StackPlan(
        project=stack.name, services=services, order=generations(stack),
        volumes=[v.name for v in stack.volumes.values() if not v.external],
        working_dir=str(stack.working_dir),
        defined=frozenset(stack.services) | frozenset(stack.disabled_services),
    )


def prepare(ctx: Context, stack: Stack, opts: UpOptions, report: Report) -> tuple[StackPlan, Plan]:
    ids = ensure_images(ctx, stack, opts, report)
    sp = stack_plan(ctx, stack, ids, opts.services)
    check_external_volumes(ctx, sp)
    plan = engine.plan_for(ctx, sp, opts.plan)
    check_ports(ctx, sp, plan)
    return sp, plan


def check_external_volumes(ctx: Context, sp: StackPlan) -> None:
    """Before anything is made, as Compose does: every ``external`` volume the services mount exists."""
    from orchestrator.storage.volumes import volume_exists

    for name, svc in sorted(sp.services.items()):
        for m in svc.mounts:
            if m.external and m.source and not volume_exists(ctx.paths, m.source):
                raise PystackError(f"service {name!r}: external volume {m.source!r} not found: an external volume "
                                   "is made outside this stack (by the stack that owns it)")


def needs_network_service(plan: Plan) -> bool:
    """A start needs the service as much as a create does: it may have died (crash, OOM kill)
    since the containers were made, and its DNS and port holds with it."""
    return any(a.kind in ("create", "recreate", "start") for a in plan.actions)


def spawn_network_service(ctx: Context, project: str, plan: Plan) -> None:
    """Start the stack's network service now if the plan will need it, without waiting: its
    interpreter start-up overlaps the containers' creation."""
    if needs_network_service(plan):
        from orchestrator.network.service import spawn_service

        spawn_service(ctx.paths, project, host_netns=ctx.host_netns)


def up(ctx: Context, stack: Stack, sp: StackPlan, plan: Plan, opts: UpOptions, report: Report,
       config_files: Sequence[str] = ()) -> Outcome:
    import threading

    from orchestrator.reconcile.threads import Gate
    from orchestrator.storage.volumes import ensure_volume

    cstate.record_stack(ctx.db(), stack.name, str(stack.working_dir), list(config_files))
    needs_net = needs_network_service(plan)
    if not opts.no_start and needs_net:
        prestart_runtime(ctx)
    if not needs_net:
        return engine.execute(ctx, sp, plan, report, start=not opts.no_start, renew_anonymous=opts.renew_anonymous,
                              stop_timeout=opts.stop_timeout)
    ready = Gate()

    def network_service() -> None:
        # The service boots (spawned already by spawn_network_service when the CLI runs up) while
        # networks, volumes and containers are made; DNS listens on the new gateways before any
        # container starts, so that a first lookup is answered. A failure here fails the
        # containers' starts with the error.
        try:
            _boot_network_service(ctx, stack.name)
            notify_network_service(ctx, stack.name)
        except BaseException as exc:
            ready.fail(exc)
        else:
            ready.open()

    side = threading.Thread(target=network_service, name=f"network-{stack.name}")
    side.start()
    try:
        for spec in network_specs(stack):
            ctx.network.ensure_network(spec)
        for vol in sp.volumes:
            ensure_volume(ctx.paths, vol)
        outcome = engine.execute(ctx, sp, plan, report, start=not opts.no_start, ready=ready,
                                 renew_anonymous=opts.renew_anonymous, stop_timeout=opts.stop_timeout)
    finally:
        side.join()
    if ready.error is not None:
        raise ready.error
    # every container's published ports are bound when up returns
    notify_network_service(ctx, stack.name)
    return outcome


def up_unchanged(ctx: Context, stack: Stack, config_files: Sequence[str] = ()) -> Outcome:
    """``up`` of a stack whose plan is empty: the stack's record is refreshed, as :func:`up` does,
    and its network service started again if it died (the containers' DNS and published ports)."""
    from orchestrator.network.service import ensure_service

    cstate.record_stack(ctx.db(), stack.name, str(stack.working_dir), list(config_files))
    if translate.used_networks(stack) and cstate.for_project(ctx.db(), stack.name, include_one_off=False):
        ensure_service(ctx.paths, stack.name, host_netns=ctx.host_netns)
    return Outcome()


def prestart_runtime(ctx: Context) -> None:
    """Containers are about to start: the monitors' zygote boots now, beside the kernel work."""
    from orchestrator.runtime import zygote

    zygote.prestart(zygote.socket_path(ctx.paths.runtime_state))


def _boot_network_service(ctx: Context, project: str) -> None:
    """DNS and published ports live in their own small process per stack, independent of the supervisor."""
    from orchestrator.network.service import ensure_service

    ensure_service(ctx.paths, project, host_netns=ctx.host_netns)


def notify_network_service(ctx: Context, project: str) -> None:
    """New published ports: the service binds them now rather than at its next look at the state."""
    from orchestrator.network.service import notify_service

    notify_service(ctx.paths, project)


def check_ports(ctx: Context, sp: StackPlan, plan: Plan) -> None:
    """A host port in use is an error before anything is created, naming the service and the port."""
    from orchestrator.network.ports import PortBinding, PortInUse
    from orchestrator.reconcile.wiring import ports_free

    for action in plan.actions:
        if action.kind not in ("create", "recreate"):
            continue
        svc = sp.services[action.service]
        bindings = [PortBinding(p.host_ip, p.published, "0.0.0.0", p.target, p.protocol, p.published_max or 0)
                    for p in svc.ports if p.published is not None]
        try:
            ports_free(ctx, sp.project, bindings)
        except PortInUse as exc:
            raise PystackError(f"service {action.service!r}: {exc}") from None


def stop_tiers(ctx: Context, project: str, order: Sequence[Sequence[str]] | None,
               records: Sequence[ContainerRecord]) -> list[list[ContainerRecord]]:
    """Dependants first. Without a stack file, the order recorded at start time is unknown: one tier."""
    if not order:
        return [list(records)]
    rank = {svc: i for i, gen in enumerate(order) for svc in gen}
    tiers: dict[int, list[ContainerRecord]] = {}
    for rec in records:
        tiers.setdefault(rank.get(rec.service, len(rank)), []).append(rec)
    return [tiers[k] for k in sorted(tiers, reverse=True)]


def _links_plan(ctx: Context, project: str) -> tuple[bool, int | None]:
    """NetworkDriver.stack_links, or "link by link" when the network side cannot be read."""
    with contextlib.suppress(PystackError, ImportError):
        return ctx.network.stack_links(project)
    return False, None


def down(ctx: Context, project: str, *, order: Sequence[Sequence[str]] | None, timeout: float | None,
         volumes: Sequence[str] = (), remove_volumes: bool = False, report: Report) -> None:
    """Stop and remove the stack, in threads (no event loop: see :mod:`orchestrator.reconcile.threads`).

    The stack's links go as one kernel batch (NetworkDriver.stack_links) in a thread of their own:
    with ``-t 0`` while the containers are killed (none gets to use its network again), otherwise
    once the grace period is over; the containers are removed meanwhile, as one batch too
    (:mod:`orchestrator.reconcile.stack_removal`) when no link of theirs is left to wait for.
    """
    import threading

    from orchestrator.reconcile import lifecycle, stack_removal, supervisor_client, threads

    supervisor_client.shutdown(ctx.paths, project)
    records = cstate.for_project(ctx.db(), project)
    tiers = stop_tiers(ctx, project, order, records)
    batch, group = _links_plan(ctx, project)

    def delete_links(group: int) -> None:
        # A failure leaves the links to cleanup_stack below, which deletes them one by one.
        with contextlib.suppress(PystackError):
            ctx.network.delete_link_group(group)

    links = threading.Thread(target=delete_links, args=(group,), name=f"links-{project}") if group else None
    released: list[bool] = []

    def release() -> None:
        # Every container has stopped: no name is looked up and no published port used any more,
        # so the stack's network service and port rules go beside the removals. A failure here
        # leaves the work to the clean-up below, which tries again and reports it.
        with contextlib.suppress(Exception):
            ctx.network.release_stack_service(project)
            released.append(True)

    def start_links(links: threading.Thread) -> None:
        # Recorded first: a down killed once the veths are gone leaves every container marked
        # removing, which the next up recreates, rather than stopped or running containers
        # that it would start or keep without a network.
        cstate.mark_removing(ctx.db(), [r.id for r in records])
        links.start()

    side = threading.Thread(target=release, name=f"release-{project}")
    failed: dict[str, str] = {}
    try:
        if links is not None and timeout == 0:
            start_links(links)
        kept = engine.stop_containers(ctx, tiers, timeout=timeout, report=report)
        if kept:  # what still runs stays supervised, as before this down
            supervisor_client.ensure(ctx.paths, project, host_netns=ctx.host_netns)
            raise PystackError(f"down: a pre_stop hook kept {', '.join(kept)} running; nothing was removed "
                               "(down -t 0 runs no hooks)")
        if links is not None and links.ident is None:
            start_links(links)
        side.start()
        anonymous: Disposal = "delete" if remove_volumes else "release"
        if batch:
            failed = stack_removal.remove_all(ctx, records, report, anonymous)
        else:
            for done in threads.each(lambda rec: lifecycle.remove(ctx, rec, timeout=0, anonymous=anonymous),
                                     records):
                if done.error is not None:  # the others go on; this one stays recorded for the next down
                    failed[done.item.name] = describe(done.error)
                    report(f"Container {done.item.name}  Error: {failed[done.item.name]}")
                else:
                    report(f"Container {done.item.name}  Removed")
    finally:
        for t in (links, side):
            if t is not None and t.ident is not None:
                t.join()
    if failed:
        raise PystackError(f"down: {len(failed)} container(s) could not be removed; run down again: "
                           + "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())))
    with contextlib.suppress(ImportError):
        networks = [n.name for n in ctx.network.list_networks(project)]
        ctx.network.cleanup_stack(project, service_released=bool(released))
        for net in networks:  # each by its name, as Compose reports them ("Network shop_default  Removed")
            report(f"Network {net}  Removed")
    if remove_volumes:
        from orchestrator.reconcile.anonymous import of_project
        from orchestrator.storage.volumes import remove_volume

        for vol in volumes:
            remove_volume(ctx.paths, vol)
            report(f"Volume {vol}  Removed")
        for vol in of_project(ctx.paths, project):  # those left behind by earlier removals too
            remove_volume(ctx.paths, vol)
    cstate.forget_stack(ctx.db(), project)
