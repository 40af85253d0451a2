"""Build an image from a Dockerfile: stages in order, one layer per filesystem step, cached.

Each filesystem step (RUN, COPY, ADD, WORKDIR) mounts the stage's layers under a fresh upper
directory, changes the merged root, unmounts, and turns the upper directory into one OCI layer
(deletions become whiteouts). Config-only steps change the image config. Every step has a cache
key chained from its parent's (see :mod:`.cache`); on a hit the recorded layer and creation time
are reused, so an unchanged rebuild mounts nothing and yields the same image id.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from orchestrator.errors import ImageError, PystackError
from orchestrator.images import manifest as mf
from orchestrator.images.build import instructions as ins_mod
from orchestrator.images.build import run_mounts, ssh_agents
from orchestrator.images.build.cache import BuildCache, CacheEntry, step_key
from orchestrator.images.build.context import Context
from orchestrator.images.build.copy_step import (
    CopyRequest,
    absolute_dest,
    context_for,
    is_url,
    mkdirs_in_root,
    parse_chmod,
    parse_chown,
    run_copy,
)
from orchestrator.images.build.instructions import StageVars, apply_config, arg_decls, env_from_config
from orchestrator.images.build.parser import Dockerfile, Instruction, Stage, parse
from orchestrator.images.build.ssh_agents import SshSource
from orchestrator.images.build.words import expand, expand_word, split_words
from orchestrator.images.build.workspace import Workspace
from orchestrator.images.model import Image, LayerRef
from orchestrator.images.store import ImageStore

Network = Literal["host", "none"]


@dataclass(frozen=True)
class StepLimits:
    """What every RUN step of a build gets from Compose's ``build`` keys: ``shm_size`` (bytes of
    its /dev/shm), ``ulimits`` (name -> (soft, hard)) and ``extra_hosts`` (its /etc/hosts)."""

    shm_size: int | None = None
    ulimits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    extra_hosts: Sequence[tuple[str, str]] = ()


class BuildRunner(Protocol):
    """Runs one RUN step in a container over ``lower_dirs`` (lowest first) writing into ``upper``."""

    def run(self, lower_dirs: list[Path], upper: Path, work_root: Path, args: list[str], env: dict[str, str],
            cwd: str, user: str | None, network: Network, mounts: Sequence[dict[str, Any]] = (),
            limits: StepLimits = StepLimits()) -> int: ...


@dataclass
class BuildReport:
    """What a build did, step by step: (stage, instruction, cache hit)."""

    steps: list[tuple[str, str, bool]] = field(default_factory=list)

    @property
    def hits(self) -> int:
        return sum(1 for s in self.steps if s[2])

    @property
    def misses(self) -> int:
        return sum(1 for s in self.steps if not s[2])


@dataclass
class _StageResult:
    """A stage as built so far: its layers and config, and the cache key of its last step, from
    which the next step's key is chained (and by which COPY --from names the stage)."""
    layers: list[LayerRef]
    config: dict[str, Any]
    key: str
    created: str


def _now() -> str:
    return mf.now_rfc3339()


def _platform_args() -> dict[str, str]:
    p = mf.host_platform()
    plat = f"{p.os}/{p.architecture}" + (f"/{p.variant}" if p.variant else "")
    out = {}
    for prefix in ("TARGET", "BUILD"):
        out.update({f"{prefix}PLATFORM": plat, f"{prefix}OS": p.os, f"{prefix}ARCH": p.architecture,
                    f"{prefix}VARIANT": p.variant or ""})
    return out


def build_image(context: Path, *, dockerfile: str = "Dockerfile", tag: str | None,
                build_args: dict[str, str], target: str | None, store: ImageStore, runner: BuildRunner,
                no_cache: bool = False, progress: Callable[[str], None] | None = None,
                report: BuildReport | None = None, network: Network = "host",
                dockerfile_inline: str | None = None, labels: Mapping[str, str] | None = None,
                secrets: Mapping[str, bytes] | None = None, contexts: Mapping[str, str] | None = None,
                ssh: Sequence[SshSource] = (), pull: bool = False, limits: StepLimits = StepLimits()) -> Image:
    """Build ``dockerfile`` (relative to ``context`` unless absolute) and tag the result ``tag``.

    ``network`` is for RUN steps without ``--network`` (Compose's ``build.network``);
    ``dockerfile_inline`` is Compose's ``build.dockerfile_inline`` and wins over ``dockerfile``;
    ``labels`` (Compose's ``build.labels``) are set on the image over the Dockerfile's LABELs;
    ``secrets`` (``build.secrets``, id → value) are what ``RUN --mount=type=secret`` lends;
    ``contexts`` (``build.additional_contexts``, name → a directory or ``docker-image://REF``) are
    what ``COPY --from``, ``RUN --mount … from=`` and ``FROM`` find under those names; ``ssh``
    (``build.ssh``, ``build --ssh``) the agents ``RUN --mount=type=ssh`` reaches (``ssh_agents``);
    ``pull`` (``build --pull``, ``build.pull``) pulls every base image first, where otherwise only
    a missing one is pulled; ``limits`` are every RUN step's (``build.shm_size``, ``ulimits``,
    ``extra_hosts``).
    """
    ctx = Context(context)
    hashes = store.paths.build_cache / "file-hashes.json"
    ctx.load_hashes(hashes)
    if dockerfile_inline is not None:
        df = parse(dockerfile_inline, where="Dockerfile")
    else:
        df_path = Path(dockerfile) if os.path.isabs(dockerfile) else ctx.root / dockerfile
        try:
            text = df_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ImageError(f"cannot read {df_path}: {exc.strerror}") from None
        df = parse(text, where=df_path.name)
    b = _Builder(df, ctx, dict(build_args), store, runner, no_cache, progress or (lambda _m: None),
                 report if report is not None else BuildReport())
    b.default_network = network
    b.pull = pull
    b.limits = limits
    b.secrets = dict(secrets or {})
    b.named = {name: _named_context(name, value) for name, value in (contexts or {}).items()}
    try:
        with ssh_agents.agents(ssh, os.environ) as b.ssh, store.writing():
            result = b.build(target)
            image = b.commit(result, tag, labels or {})
        ctx.save_hashes(hashes)
        return image
    finally:
        b.cleanup()


_IMAGE_ID = re.compile(r"(sha256:)?[0-9a-f]{12,64}")


def _pullable(ref: str) -> bool:
    """Whether a registry could have ``ref``: a name, not an image id (which only the store knows)."""
    return not _IMAGE_ID.fullmatch(ref)


def _named_context(name: str, value: str) -> Context | str:
    """One of Compose's ``build.additional_contexts``: a directory, or ``docker-image://REF``."""
    if value.startswith("docker-image://"):
        return value[len("docker-image://"):]
    if "://" in value or value.startswith(("service:", "git@")):
        raise ImageError(f"additional context {name}={value}: only a directory or docker-image:// is supported "
                         "(pystack builds offline, one image at a time)")
    return Context(Path(value))


class _Builder:
    def __init__(self, df: Dockerfile, ctx: Context, build_args: dict[str, str], store: ImageStore,
                 runner: BuildRunner, no_cache: bool, progress: Callable[[str], None], report: BuildReport) -> None:
        self.df, self.ctx, self.build_args, self.store, self.runner = df, ctx, build_args, store, runner
        self.no_cache, self.say, self.report = no_cache, progress, report
        self.cache = BuildCache(store.paths.build_cache)
        self.ws = Workspace(store)
        self.counter = itertools.count(1)
        self.results: dict[int, _StageResult] = {}
        self.used_args: set[str] = set()
        self.default_network: Network = "host"
        self.secrets: dict[str, bytes] = {}
        self.ssh = ssh_agents.Agents({}, Path("/nonexistent"))  # the build's agents, by ssh id
        self.named: dict[str, Context | str] = {}  # additional contexts: a directory, or an image reference
        self.pull = False  # pull every base image first, present or not (build --pull, build.pull)
        self.limits = StepLimits()
        self.pulled: set[str] = set()
        self.meta: dict[str, str] = dict(_platform_args())
        for ins in df.global_args:
            for name, default in arg_decls(ins, self.meta, df.escape):
                self.used_args.add(name)
                value = build_args.get(name, default)
                if value is not None:
                    self.meta[name] = value
        self.global_names = {n for ins in df.global_args for n, _ in arg_decls(ins, self.meta, df.escape)}

    # -- orchestration ------------------------------------------------------------------------
    def build(self, target: str | None) -> _StageResult:
        stage = self.df.stages[-1] if not target else self.df.stage(target)
        if stage is None:
            names = ", ".join(s.name or str(s.index) for s in self.df.stages)
            raise ImageError(f"target stage {target!r} not found in {self.df.where} (stages: {names})")
        result = self._stage(stage)
        unused = sorted(set(self.build_args) - self.used_args - ins_mod.PREDEFINED_ARGS)
        if unused:
            self.say(f"warning: build args not consumed by any ARG: {', '.join(unused)}")
        return result

    def _stage(self, stage: Stage) -> _StageResult:
        if stage.index in self.results:
            return self.results[stage.index]
        where = f"{self.df.where}:{stage.line}"
        base = expand_word(stage.base, self.meta, self.df.escape)
        if stage.platform:
            self._check_platform(expand_word(stage.platform, self.meta, self.df.escape), where)
        label = f"[{stage.name or stage.index}]"
        src = self.df.stage(base) if not base.isdigit() else None
        named = self.named.get(base) if src is None or src.index >= stage.index else None
        if isinstance(named, Context):
            raise ImageError(f"{where}: FROM {base}: a directory given as a build context cannot be a base image")
        if isinstance(named, str):
            base, src = named, None
        if base.lower() == "scratch":
            state = _StageResult([], {"config": {}}, step_key("", "FROM scratch"), "")
        elif src is not None and src.index < stage.index:
            state = copy.deepcopy(self._stage(src))
        else:
            image = self._image(base, where)
            state = _StageResult(list(image.layers), copy.deepcopy(image.config),
                                 step_key("", "FROM", image.manifest_digest), image.created or "")
        self.say(f"#{next(self.counter)} {label} FROM {base}")
        inner: dict[str, Any] = dict(state.config.get("config") or {})
        state.config["config"] = inner
        state.config["history"] = list(state.config.get("history") or [])
        v = StageVars(env=env_from_config(inner), shell=list(inner.get("Shell") or ins_mod.DEFAULT_SHELL))
        triggers = [] if src is not None else list(inner.pop("OnBuild", None) or [])
        for ins in self._triggers(triggers, stage.line) + stage.instructions:
            self._step(stage, label, ins, state, inner, v)
        self.results[stage.index] = state
        return state

    def _check_platform(self, wanted: str, where: str) -> None:
        """``FROM --platform=$BUILDPLATFORM`` is fine; another platform would need emulation we lack."""
        host = mf.host_platform()
        try:
            want = mf.parse_platform(wanted)
        except ImageError as exc:
            raise ImageError(f"{where}: {exc}") from None
        if (want.os, want.architecture) != (host.os, host.architecture):
            raise ImageError(f"{where}: FROM --platform={wanted}: pystack builds only for this host "
                             f"({host.os}/{host.architecture}); there is no emulation")

    def _triggers(self, triggers: list[str], line: int) -> list[Instruction]:
        """The base image's ONBUILD instructions, run first, as Docker does (and not inherited)."""
        out: list[Instruction] = []
        for text in triggers:
            parsed = parse(f"FROM scratch\n{text}\n", where=self.df.where).stages[0].instructions
            for ins in parsed:
                if ins.cmd in ("FROM", "ONBUILD"):
                    raise ImageError(f"{self.df.where}:{line}: ONBUILD {ins.cmd} is not allowed")
                ins.line = line
                out.append(ins)
        return out

    def _image(self, ref: str, where: str) -> Image:
        """An image a stage starts from or a step reads (FROM, COPY --from, a mount's from=). BuildKit
        resolves these from their registry: so a missing one is pulled, and with ``pull`` (build
        --pull, build.pull) each is pulled once per build, missing or not, so that a newer base
        is built on. A failed pull fails the build, naming the line."""
        if ref not in self.pulled and (self.pull or not self.store.exists(ref)) and _pullable(ref):
            self.say(f"#{next(self.counter)} pulling {ref}")
            try:
                self.store.pull(ref)
            except (PystackError, OSError) as exc:
                raise ImageError(f"{where}: cannot pull {ref}: {exc}") from None
            self.pulled.add(ref)
        try:
            return self.store.resolve(ref)
        except ImageError as exc:
            raise ImageError(f"{where}: {exc}") from None

    def _step(self, stage: Stage, label: str, ins: Instruction, st: _StageResult, inner: dict[str, Any],
              v: StageVars) -> None:
        what = f"{self.df.where}:{ins.line}: {ins.cmd}"
        n = next(self.counter)
        try:
            if ins.cmd == "ARG":
                text = self._arg(ins, v)
                layer_fn = None
            elif ins.cmd in ("RUN", "COPY", "ADD", "WORKDIR"):
                text, layer_fn = self._fs_step(ins, st, inner, v, what)
            else:
                text = apply_config(ins, inner, v, self.df.escape, st.config) or ins.original
                layer_fn = None
        except PystackError as exc:
            msg = str(exc)
            raise ImageError(msg if msg.startswith(self.df.where) else f"{what}: {msg}") from None
        key = step_key(st.key, text)
        hit = None if self.no_cache else self.cache.get(key)
        if hit is not None and hit.layer is not None and not self.store.content.has(hit.layer.digest):
            hit = None
        if hit is not None:
            entry = hit
        else:
            try:
                layer = layer_fn(st) if layer_fn is not None else None
            except PystackError as exc:
                msg = str(exc)
                raise ImageError(msg if msg.startswith(self.df.where) else f"{what}: {msg}") from None
            entry = CacheEntry(created=_now(), layer=layer)
            self.cache.put(key, entry)
        self.report.steps.append((label, ins.original, hit is not None))
        self.say(f"#{n} {label} {ins.original}" + (" CACHED" if hit is not None else ""))
        st.key, st.created = key, entry.created
        if entry.layer is not None:
            st.layers.append(entry.layer)
        hist: dict[str, Any] = {"created": entry.created, "created_by": ins.original}
        if entry.layer is None:
            hist["empty_layer"] = True
        st.config["history"].append(hist)

    def _arg(self, ins: Instruction, v: StageVars) -> str:
        parts = []
        for name, default in arg_decls(ins, v.scope(), self.df.escape):
            self.used_args.add(name)
            if name in self.build_args:
                value: str | None = self.build_args[name]
            elif default is not None:
                value = default
            elif name in self.global_names or name in self.meta:
                value = self.meta.get(name)
            else:
                value = None
            if value is not None:
                v.args[name] = value
            parts.append(f"{name}={value!r}")
        return "ARG " + " ".join(parts)

    # -- filesystem steps -----------------------------------------------------------------------
    def _fs_step(self, ins: Instruction, st: _StageResult, inner: dict[str, Any], v: StageVars,
                 what: str) -> tuple[str, Callable[[_StageResult], LayerRef | None]]:
        scope = v.scope()
        esc = self.df.escape
        if ins.cmd == "WORKDIR":
            path = expand_word(ins.rest, scope, esc)
            if not path:
                raise ImageError("WORKDIR needs a path")
            workdir = os.path.normpath(absolute_dest(path, str(inner.get("WorkingDir") or "/")))
            inner["WorkingDir"] = workdir

            def do_workdir(state: _StageResult) -> LayerRef | None:
                return self.ws.change(state.layers, lambda merged: self._mkdir(merged, workdir, what))
            return f"WORKDIR {workdir}", do_workdir
        if ins.cmd == "RUN":
            return self._run_step(ins, inner, v, what)
        return self._copy_step(ins, inner, v, what)

    def _mkdir(self, merged: Path, path: str, what: str) -> None:
        root_fd = os.open(merged, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.close(mkdirs_in_root(root_fd, path, what))
        finally:
            os.close(root_fd)

    def _run_step(self, ins: Instruction, inner: dict[str, Any], v: StageVars,
                  what: str) -> tuple[str, Callable[[_StageResult], LayerRef | None]]:
        for flag in ins.flags:
            if flag != "network":
                raise ImageError(f"RUN --{flag} is not supported by pystack's builder")
        net = ins.flags.get("network", "default")
        if net not in ("default", "host", "none"):
            raise ImageError(f"RUN --network={net}: use host, none or default")
        network: Network = self.default_network if net == "default" else "none" if net == "none" else "host"
        args = ins_mod.heredoc_command(ins, v.shell) if ins.heredocs else ins_mod.command_form(ins, v.shell)
        env = v.run_env()
        cwd = str(inner.get("WorkingDir") or "/")
        user = inner.get("User") or None
        mounts = [run_mounts.parse_mount(expand_word(m, v.scope(), self.df.escape), cwd, what) for m in ins.mounts]
        text = f"RUN {args!r} env={sorted(env.items())!r} cwd={cwd} user={user} net={network}"
        if mounts:  # a RUN without mounts keeps the key it always had
            text += f" mounts={[self._mount_key(m, what) for m in mounts]!r}"
        # proxy settings reach RUN without an ARG, and (as in Docker) do not change the cache key
        proxies = {k: val for k, val in self.build_args.items() if k in ins_mod.PREDEFINED_ARGS and k not in env}
        run_env = {**proxies, **env}

        def do_run(state: _StageResult) -> LayerRef | None:
            return self._run(state, args, run_env, cwd, user, network, what, mounts)
        return text, do_run

    def _mount_key(self, m: run_mounts.RunMount, what: str) -> str:
        """The mount in the step's cache key; a bind's content counts, a cache's does not."""
        if m.type == "secret" and m.secret_id not in self.secrets and m.required:
            raise ImageError(f"{what}: --mount type=secret,id={m.secret_id} is required, but the build was given "
                             "no such secret (Compose's build.secrets)")
        if m.type == "ssh" and m.ssh_id not in self.ssh.sockets and m.required:
            raise ImageError(f"{what}: --mount type=ssh,id={m.ssh_id} is required, but the build was given no "
                             "such SSH agent (Compose's build.ssh, build --ssh)")
        if m.type in ("secret", "ssh"):
            return m.key()  # never the secret's value
        if m.type == "cache" and (m.from_ or m.source):
            raise ImageError(f"{what}: --mount type=cache with from/source is not supported")
        if m.type != "bind":
            return m.key()
        ctx, ref = self._bind_origin(m)
        if ctx is not None:
            return m.key() + " ctx=" + ctx.hash_sources(ctx.resolve(m.source or ".", what=what))
        stage = self.df.stage(ref)
        if stage is not None:
            return m.key() + " stage=" + self._stage(stage).key
        return m.key() + " image=" + self._image(ref, what).manifest_digest

    def _bind_origin(self, m: run_mounts.RunMount) -> tuple[Context | None, str]:
        """Where a bind's source lies: a directory context (the build's, or an additional one), or
        the stage or image of that name."""
        if m.from_ is None:
            return self.ctx, ""
        if self.df.stage(m.from_) is None:
            named = self.named.get(m.from_)
            if isinstance(named, Context):
                return named, ""
            if isinstance(named, str):
                return None, named
        return None, m.from_

    def _run(self, state: _StageResult, args: list[str], env: dict[str, str], cwd: str, user: str | None,
             network: Network, what: str, mounts: Sequence[run_mounts.RunMount] = ()) -> LayerRef | None:
        lowers = self.ws.layer_dirs(state.layers)
        cdir = self.ws.new_dir()
        upper = cdir / "upper"
        upper.mkdir(parents=True)
        secrets = [m for m in mounts if m.type == "secret" and m.secret_id in self.secrets]
        env = {**env, **{m.env: self.secrets[m.secret_id].decode(errors="replace") for m in secrets if m.env}}
        with contextlib.ExitStack() as held:  # cache locks, mounted stages and agents, for the step's length
            oci = [self._mount_source(m, held, what) for m in mounts if m.type not in ("secret", "ssh")]
            oci += [self._secret_file(m) for m in secrets if m.target]
            agents = [m for m in mounts if m.type == "ssh" and m.ssh_id in self.ssh.sockets]
            for n, m in enumerate(agents):
                oci.append(self._agent_socket(m, n, held))
            if agents:  # as BuildKit: the first agent is the step's SSH_AUTH_SOCK
                env = {**env, "SSH_AUTH_SOCK": agents[0].target or run_mounts.ssh_target(0)}
            rc = self.runner.run(lowers, upper, cdir, args, env, cwd, user, network, oci, self.limits)
        if rc != 0:
            shown = args[-1] if len(args) > 2 else " ".join(args)
            raise ImageError(f"{what} {shown} failed with exit code {rc}")
        return self.ws.commit_layer(upper)

    def _agent_socket(self, m: run_mounts.RunMount, n: int, held: contextlib.ExitStack) -> dict[str, Any]:
        """The step's own socket to the agent (``ssh_agents.relayed``), bound at the mount's target."""
        path = self.ssh.step_socket()
        held.enter_context(ssh_agents.relayed(self.ssh.sockets[m.ssh_id], path,
                                              mode=m.mode if m.mode is not None else 0o600, uid=m.uid, gid=m.gid))
        return {"destination": m.target or run_mounts.ssh_target(n), "type": "bind", "source": str(path),
                "options": ["rbind", "rw"]}

    def _secret_file(self, m: run_mounts.RunMount) -> dict[str, Any]:
        """The secret as a read-only file (0400 unless ``mode``, owned by ``uid``/``gid``), in the
        build's scratch tree, which is removed when the build ends."""
        path = self.ws.new_dir() / "secret"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            data = memoryview(self.secrets[m.secret_id])
            while data:
                data = data[os.write(fd, data):]
            os.fchown(fd, m.uid, m.gid)
            os.fchmod(fd, m.mode if m.mode is not None else 0o400)
        finally:
            os.close(fd)
        return {"destination": m.target, "type": "bind", "source": str(path), "options": ["rbind", "ro"]}

    def _mount_source(self, m: run_mounts.RunMount, held: contextlib.ExitStack, what: str) -> dict[str, Any]:
        """The OCI mount of one ``RUN --mount``, its host side made ready."""
        if m.type == "tmpfs":
            opts = ["nosuid", "nodev", *([f"size={m.size}"] if m.size else [])]
            return {"destination": m.target, "type": "tmpfs", "source": "tmpfs", "options": opts}
        if m.type == "cache":
            d = run_mounts.cache_dir(self.store.paths.build_cache, m)
            held.enter_context(run_mounts.cache_lock(d, m))
            return {"destination": m.target, "type": "bind", "source": str(d),
                    "options": ["rbind", "ro" if m.readonly else "rw"]}
        ctx, ref = self._bind_origin(m)
        if ctx is not None:
            found = ctx.resolve(m.source or ".", what=what)
            if len(found) != 1:
                raise ImageError(f"{what}: --mount source {m.source!r} names {len(found)} paths, not one")
            src = found[0].path
        else:
            stage = self.df.stage(ref)
            layers = self._stage(stage).layers if stage is not None else list(self._image(ref, what).layers)
            root = held.enter_context(self.ws.mounted(layers, readonly=True))
            src = run_mounts.resolve_in(root, m.source or "/", what)
        if m.readonly is False:  # rw: the step may write, into a copy that is dropped afterwards
            copy_to = self.ws.new_dir() / "rw"
            if src.is_dir():
                shutil.copytree(src, copy_to, symlinks=True)
            else:
                shutil.copy2(src, copy_to, follow_symlinks=False)
            src = copy_to
        return {"destination": m.target, "type": "bind", "source": str(src),
                "options": ["rbind", "rw" if m.readonly is False else "ro"]}

    def _copy_step(self, ins: Instruction, inner: dict[str, Any], v: StageVars,
                   what: str) -> tuple[str, Callable[[_StageResult], LayerRef | None]]:
        scope = v.scope()
        esc = self.df.escape
        for flag in ins.flags:
            if flag not in ("from", "chown", "chmod", "link"):
                raise ImageError(f"{ins.cmd} --{flag} is not supported")
        words = ins.json if ins.json is not None else split_words(ins.rest, scope, esc)
        if ins.json is not None:
            words = [expand_word(w, scope, esc) if "$" in w else w for w in words]
        if len(words) < 2:
            raise ImageError(f"{ins.cmd} needs at least one source and a destination")
        srcs, dest_raw = words[:-1], words[-1]
        dest = absolute_dest(dest_raw, str(inner.get("WorkingDir") or "/"))
        dest_is_dir = dest_raw.endswith("/")
        chown = expand_word(ins.flags["chown"], scope, esc) if "chown" in ins.flags else None
        chmod = parse_chmod(expand_word(ins.flags["chmod"], scope, esc), what) if "chmod" in ins.flags else None
        if ins.cmd == "ADD" and any(is_url(s) for s in srcs):
            raise ImageError("ADD from a URL needs the network, and pystack builds offline: download the file "
                             "into the build context and COPY it")
        from_ref = expand_word(ins.flags["from"], scope, esc) if "from" in ins.flags else None
        base = f"{ins.cmd} src={srcs!r} dest={dest} dir={dest_is_dir} chown={chown} chmod={chmod}"
        if from_ref is None:
            ctx = self._heredoc_context(ins, srcs, scope) if ins.heredocs else self.ctx
            if ins.heredocs:
                srcs = [src[2:].lstrip("-").strip("\"'") if src.startswith("<<") else src for src in srcs]
            sources = [s for src in srcs for s in ctx.resolve(src, what=what)]
            text = f"{base} ctx={ctx.hash_sources(sources)}"

            def do_ctx(state: _StageResult) -> LayerRef | None:
                req = CopyRequest(sources, ctx.root, dest, dest_is_dir, None, chmod, False, ctx.skip,
                                  ins.cmd == "ADD" and not ins.heredocs)
                return self.ws.change(state.layers, lambda merged: self._copy(merged, req, chown, (0, 0), what))
            return text, do_ctx
        src_stage = self.df.stage(from_ref)
        named = self.named.get(from_ref) if src_stage is None else None
        if isinstance(named, Context):  # an additional context: its files, as the build context's
            nctx = named
            sources = [s for src in srcs for s in nctx.resolve(src, what=what)]

            def do_named(state: _StageResult) -> LayerRef | None:
                req = CopyRequest(sources, nctx.root, dest, dest_is_dir, None, chmod, False, nctx.skip,
                                  ins.cmd == "ADD")
                return self.ws.change(state.layers, lambda merged: self._copy(merged, req, chown, (0, 0), what))
            return f"{base} context={from_ref}:{nctx.hash_sources(sources)}", do_named
        if isinstance(named, str):
            from_ref = named
        if src_stage is not None:
            src_state = self._stage(src_stage)
            src_layers, ident = src_state.layers, "stage:" + src_state.key
        else:
            image = self._image(from_ref, what)
            src_layers, ident = list(image.layers), "image:" + image.manifest_digest

        def do_from(state: _StageResult) -> LayerRef | None:
            def copy_in(merged: Path) -> None:
                with self.ws.mounted(src_layers, readonly=True) as src_root:
                    sctx = context_for(src_root)
                    sources = [s for src in srcs for s in sctx.resolve(src, what=what)]
                    req = CopyRequest(sources, src_root, dest, dest_is_dir, None, chmod, True, None, False)
                    self._copy(merged, req, chown, None, what)
            return self.ws.change(state.layers, copy_in)
        return f"{base} from={ident}", do_from

    def _heredoc_context(self, ins: Instruction, srcs: list[str], scope: dict[str, str]) -> Context:
        """``COPY <<EOF /file``: each here-document becomes a file of a small private context."""
        if not all(src.startswith("<<") for src in srcs):
            raise ImageError(f"{ins.cmd}: mixing here-documents and context files is not supported")
        d = self.ws.new_dir()
        for doc in ins.heredocs:
            body = expand(doc.content, scope, self.df.escape) if doc.expand else doc.content
            (d / doc.name).write_text(body)
            os.chmod(d / doc.name, 0o644)
        return context_for(d)

    def _copy(self, merged: Path, req: CopyRequest, chown: str | None, default: tuple[int, int] | None,
              what: str) -> None:
        req.owner = parse_chown(chown, merged, what) if chown else default
        run_copy(merged, req, what)

    def commit(self, result: _StageResult, tag: str | None, labels: Mapping[str, str]) -> Image:
        config = dict(result.config)
        if labels:
            inner = dict(config.get("config") or {})
            inner["Labels"] = {**(inner.get("Labels") or {}), **labels}
            config["config"] = inner
        for stale in ("container", "container_config", "docker_version", "parent", "id"):
            config.pop(stale, None)
        created = result.created or _now()
        config["created"] = created
        config.setdefault("architecture", mf.host_platform().architecture)
        full = mf.complete_config(config, [lr.diff_id for lr in result.layers], created=created)
        return self.store.write_image(full, list(result.layers), [tag] if tag else [])

    def cleanup(self) -> None:
        self.ws.cleanup()


__all__ = ["BuildReport", "BuildRunner", "build_image"]
