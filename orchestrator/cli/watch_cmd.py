"""``pystack watch``: keep running services in step with the files a developer edits.

The stack is brought up first (``up -d``, unless ``--no-up``), then the services' ``develop.watch``
rules are served (:mod:`orchestrator.develop`) until Ctrl-C or SIGTERM. Files are copied in this
process; a restart, a rebuild and a ``sync+exec`` command are this command line's own ``restart``,
``up -d --build --no-deps`` and ``exec``, run as child commands: each takes the stack's lock and
does exactly what it does when typed, and a failure is reported and the watch goes on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli import project as proj
from orchestrator.cli.options import GlobalOptions

if TYPE_CHECKING:
    from orchestrator.develop.rules import Rule, Work
    from orchestrator.reconcile.context import Context
    from orchestrator.spec.models import Stack


def _say(message: str) -> None:
    click.echo(message, err=True)


def global_args(opts: GlobalOptions) -> list[str]:
    """The options before the command word that make a child command load this same stack."""
    out: list[str] = []
    for f in opts.files:
        out += ["-f", f]
    if opts.project_name:
        out += ["-p", opts.project_name]
    if opts.project_directory:
        out += ["--project-directory", opts.project_directory]
    for p in opts.profiles:
        out += ["--profile", p]
    for e in opts.env_files:
        out += ["--env-file", e]
    out += ["--root", str(opts.root), "--ansi", opts.ansi, "--progress", opts.progress]
    return out


def child_command(opts: GlobalOptions, *words: str) -> list[str]:
    from orchestrator.isolated import command

    return [*command("orchestrator.cli.main", site_packages=True), *global_args(opts), *words]


def exec_words(service: str, number: int, hook: Mapping[str, Any]) -> list[str]:
    """``exec`` of a ``sync+exec`` rule's command in container ``number`` of ``service``."""
    words = ["exec", "-T", "--index", str(number)]
    if hook.get("user") is not None:
        words += ["-u", str(hook["user"])]
    if hook.get("working_dir"):
        words += ["-w", str(hook["working_dir"])]
    if hook.get("privileged"):
        words.append("--privileged")
    for key, value in (hook.get("environment") or {}).items():
        words += ["-e", key if value is None else f"{key}={value}"]
    command = hook["command"]
    return [*words, service, *([command] if isinstance(command, str) else [str(a) for a in command])]


def watch_rules(stack: Stack, services: Sequence[str]) -> list[Rule]:
    from orchestrator.develop.rules import rules_of

    out: list[Rule] = []
    for name in services:
        svc = stack.services[name]
        context = None
        lines: list[str] = []
        if svc.build is not None and os.path.isdir(svc.build.context):
            context = svc.build.context
            try:
                with open(os.path.join(context, ".dockerignore"), encoding="utf-8", errors="replace") as fh:
                    lines = fh.read().splitlines()
            except FileNotFoundError:
                pass
        out += rules_of(name, svc.develop, context=context, dockerignore=lines)
    return out


class Actions:
    """What a batch's work does to the stack."""

    def __init__(self, opts: GlobalOptions, ctx: Context, project: str, *, quiet: bool = False,
                 prune: bool = True, images: Mapping[str, str] | None = None) -> None:
        self.opts, self.ctx, self.project, self.quiet = opts, ctx, project, quiet
        self.prune = prune  # a rebuild's previous image goes once nothing names or uses it (--prune)
        self.images = dict(images or {})  # service -> its image reference

    def child(self, *words: str) -> bool:
        """Run ``pystack WORDS`` on this stack; its output shows unless quiet (then only a failure's)."""
        out = subprocess.DEVNULL if self.quiet else None
        err = subprocess.PIPE if self.quiet else None
        done = subprocess.run(child_command(self.opts, *words), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                              check=False)
        if done.returncode != 0 and done.stderr:
            sys.stderr.write(done.stderr.decode(errors="replace"))
        return done.returncode == 0

    def _image_digest(self, service: str) -> str | None:
        from orchestrator.errors import PystackError

        ref = self.images.get(service)
        if ref is None:
            return None
        try:
            return self.ctx.images.resolve(ref).manifest_digest
        except PystackError:
            return None

    def containers(self, service: str) -> list[Any]:
        from orchestrator.state import containers as cstate

        return sorted((r for r in cstate.for_project(self.ctx.db(), self.project)
                       if r.service == service and not r.one_off and r.status == "running"),
                      key=lambda r: r.number)

    def sync(self, service: str, changes: Mapping[str, str]) -> None:
        from orchestrator.develop import sync

        for rec in self.containers(service):
            rt = self.ctx.runtime(None if rec.runtime == "pystack" else rec.runtime)
            pid = rt.state(rec.id).pid
            try:
                if pid is None:
                    raise ProcessLookupError
                root = sync.open_container_root(pid)
            except (FileNotFoundError, ProcessLookupError):
                _say(f"  container {rec.name} is not running: not synced")
                continue
            try:
                if rt.state(rec.id).pid != pid:  # it restarted meanwhile: the next batch reaches it
                    continue
                result = sync.apply(root, changes)
            finally:
                os.close(root)
            for why in result.failed:
                _say(f"  container {rec.name}: {why}")

    def __call__(self, work: dict[str, Work]) -> None:
        for service in sorted(work):
            w = work[service]
            changes = f"{w.changes} change{'s' if w.changes != 1 else ''}"
            if w.rebuild:
                _say(f"Rebuilding service {service!r} after {changes}")
                before = self._image_digest(service)
                ok = self.child("up", "-d", "--build", "--no-deps", service)
                _say(f"service {service!r} {'rebuilt and recreated' if ok else 'was not rebuilt (see above)'}")
                if ok and self.prune and before is not None and self.ctx.images.prune_if_dangling(before):
                    _say(f"service {service!r}: its previous image, now unused, was pruned")
                continue
            if w.sync:
                _say(f"Syncing service {service!r} after {changes}")
                self.sync(service, w.sync)
            if w.restart:
                _say(f"Restarting service {service!r} after {changes}")
                if not self.child("restart", service):
                    _say(f"service {service!r} was not restarted (see above)")
            for hook in w.execs:
                for rec in self.containers(service):
                    if not self.child(*exec_words(service, rec.number, hook)):
                        _say(f"container {rec.name}: the sync+exec command failed (see above)")


class Watch:
    """A watch over some services of a stack: in the foreground (``watch``) or beside ``up --watch``'s logs."""

    def __init__(self, opts: GlobalOptions, ctx: Context, stack: Stack, services: Sequence[str], *,
                 quiet: bool = False, prune: bool = True) -> None:
        from orchestrator.errors import PystackError

        unknown = [s for s in services if s not in stack.services]
        if unknown:
            raise PystackError(f"no such service: {', '.join(unknown)}")
        chosen = list(services) or sorted(stack.services)
        self.services = [s for s in chosen if (stack.services[s].develop or {}).get("watch")]
        if not self.services:
            raise PystackError("none of the selected services has develop.watch rules: nothing to watch")
        self.rules = watch_rules(stack, self.services)
        from orchestrator.reconcile.translate import image_ref

        self.actions = Actions(opts, ctx, stack.name, quiet=quiet, prune=prune,
                               images={s: image_ref(stack.name, stack.services[s]) for s in self.services})
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)

    def initial_sync(self) -> None:
        first = initial_sync(self.rules)
        for service in sorted(first):
            _say(f"Syncing service {service!r}: initial sync of {first[service].changes} paths")
            self.actions.sync(service, first[service].sync)

    def run(self, ready: Callable[[], None] | None = None) -> None:
        """Serve the rules until :meth:`stop`; a path that cannot be watched is a one-line error.
        ``ready`` is called once every path is watched."""
        from orchestrator.develop import watcher
        from orchestrator.develop.inotify import WatchError
        from orchestrator.errors import PystackError

        def watching() -> None:
            _say(f"Watching {', '.join(self.services)} (Ctrl-C to stop)")
            if ready is not None:
                ready()

        try:
            watcher.watch(self.rules, self.actions, wake_fd=self._wake_r, ready=watching)
        except WatchError as exc:
            raise PystackError(f"watch: {exc.strerror}") from None

    def stop(self) -> None:
        """Wake :meth:`run` to return; safe from a signal handler."""
        with contextlib.suppress(BlockingIOError):  # one byte waiting is enough
            os.write(self._wake_w, b"x")

    def close(self) -> None:
        os.close(self._wake_r)
        os.close(self._wake_w)


@click.command()
@click.argument("services", nargs=-1)
@click.option("--no-up", is_flag=True, help="Do not build and start the services before watching.")
@click.option("--quiet", is_flag=True, help="Hide the output of the commands a rebuild or restart runs.")
@click.option("--prune", type=click.BOOL, default=True, show_default=True, is_flag=False, flag_value=True,
              help="Prune dangling images on rebuild (a rebuilt service's previous image, once unused).")
@click.pass_obj
def watch(opts: GlobalOptions, services: tuple[str, ...], no_up: bool, quiet: bool, prune: bool) -> None:
    """Watch the services' develop.watch paths and sync, restart, rebuild or exec when files change."""
    stack = proj.load(opts, targets=services)
    w = Watch(opts, proj.context(opts), stack, services, quiet=quiet, prune=prune)
    try:
        if not no_up and not w.actions.child("up", "-d", *services):
            sys.exit(1)
        w.initial_sync()
        previous = {sig: signal.signal(sig, lambda _s, _f: w.stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            w.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        w.close()
    _say("Watch stopped; the services keep running")


def initial_sync(rules: list[Rule]) -> dict[str, Work]:
    """The initial sync: every path of the rules that ask for one, copied before the watch starts."""
    from orchestrator.develop.rules import route
    from orchestrator.develop.watcher import everything

    initial = [r for r in rules if r.initial_sync and r.syncs]
    work = route(initial, everything(initial)) if initial else {}
    for w in work.values():  # a sync only: nothing restarts or runs for what is already the same
        w.restart = False
        w.execs.clear()
    return {s: w for s, w in work.items() if w.sync}
